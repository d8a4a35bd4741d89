"""What the demand endpoints read and write (api/demands.py serves them)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from marshmallow import Schema, fields, validate

from api.ledger import TransferSchema
from api.numbers import WholeNumber
from api.pagination import PageArgs
from api.text import MultilineText, Text
from api.uploads import photo_ids, photo_links
from points.demands import DemandLevel, DemandOrder, DemandStatus, LimitUnit, OwnerKind, Stage
from points.rules import Category
from service.demands.handling import DemandView
from service.demands.loop import Decided
from service.demands.models import Demand

CATEGORIES = [c.value for c in Category]
NOTE = MultilineText(load_default="", validate=validate.Length(max=500))


class OwnerSchema(Schema):
    kind = Text(required=True, metadata={"enum": [k.value for k in OwnerKind]})
    user_id = WholeNumber(allow_none=True)
    department_id = WholeNumber(allow_none=True)
    task_id = WholeNumber(allow_none=True)


class DeadlinesSchema(Schema):
    accept = fields.DateTime(attribute="accept_due_at", allow_none=True)
    acknowledge = fields.DateTime(attribute="acknowledge_due_at", allow_none=True)
    resolve = fields.DateTime(attribute="resolve_due_at", allow_none=True)
    verify = fields.DateTime(attribute="verify_due_at", allow_none=True)


class DemandSchema(Schema):
    id = WholeNumber(dump_only=True)
    category = Text(
        required=True,
        validate=validate.OneOf(CATEGORIES),
        metadata={"description": "one of the eight 八微"},
    )
    description = MultilineText(required=True, validate=validate.Length(min=2, max=2000))
    org_id = WholeNumber(attribute="place_id", required=True, validate=validate.Range(min=1))
    address = Text(load_default="", validate=validate.Length(max=200))
    upload_ids = photo_ids()
    photos = fields.Method(
        "dump_photos",
        dump_only=True,
        metadata={"description": "upload_ids as links valid for an hour"},
    )
    lat = fields.Float(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "移动探头: where the problem is (GCJ-02, kept to about 10 m); "
            "with it anyone may report a problem anywhere"
        },
    )
    lng = fields.Float(load_default=None, allow_none=True)
    order = Text(
        attribute="order_kind",
        load_default=None,
        allow_none=True,
        validate=validate.OneOf([o.value for o in DemandOrder]),
        metadata={
            "description": "点单: a delivery (送菜上门) or an errand (代办) for household_id, "
            "filed by its resident or, for them, by someone serving there"
        },
    )
    household_id = WholeNumber(
        load_default=None, allow_none=True, metadata={"description": "with order: whose door"}
    )
    resident_id = WholeNumber(
        load_default=None,
        allow_none=True,
        load_only=True,
        metadata={"description": "with order: the resident served, if the household has several"},
    )
    for_user_id = WholeNumber(
        load_default=None,
        allow_none=True,
        load_only=True,
        metadata={
            "description": "代办: file it for the person you act for (a running proxy link); "
            "403 not_proxy otherwise"
        },
    )
    served_user_id = WholeNumber(dump_only=True, allow_none=True)
    proxy = fields.Boolean(
        dump_only=True, metadata={"description": "filed on the household's behalf (代办)"}
    )
    duplicate_of_id = WholeNumber(
        dump_only=True, allow_none=True, metadata={"description": "merged into this demand"}
    )
    reporter_id = WholeNumber(dump_only=True)
    status = Text(dump_only=True, metadata={"enum": [s.value for s in DemandStatus]})
    level = Text(
        dump_only=True,
        allow_none=True,
        metadata={"enum": [lv.value for lv in DemandLevel], "description": "三事分流, from 立项"},
    )
    owner = fields.Method(
        "dump_owner", dump_only=True, metadata={"description": "交办: who has it"}
    )
    accepted_at = fields.DateTime(dump_only=True, allow_none=True)
    decline_reason = Text(dump_only=True, allow_none=True)
    assigned_at = fields.DateTime(dump_only=True, allow_none=True)
    whistled_at = fields.DateTime(dump_only=True, allow_none=True)
    acknowledged_at = fields.DateTime(
        dump_only=True, allow_none=True, metadata={"description": "the department's 报到"}
    )
    resolution = MultilineText(dump_only=True, allow_none=True)
    resolution_photos = fields.Method("dump_resolution_photos", dump_only=True)
    resolved_at = fields.DateTime(dump_only=True, allow_none=True)
    verified_at = fields.DateTime(dump_only=True, allow_none=True)
    public_summary = MultilineText(dump_only=True, allow_none=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)
    closed_at = fields.DateTime(dump_only=True, allow_none=True)
    deadlines = fields.Method("dump_deadlines", dump_only=True)
    due_stage = Text(
        dump_only=True,
        allow_none=True,
        metadata={"enum": [s.value for s in Stage], "description": "the stage it waits in"},
    )
    due_at = fields.DateTime(dump_only=True, allow_none=True)
    rating = fields.Method(
        "dump_rating", dump_only=True, metadata={"description": "群众来评判, once given"}
    )
    created_at = fields.DateTime(dump_only=True)

    def dump_photos(self, demand: Demand) -> list[dict[str, Any]]:
        return photo_links(demand.upload_ids or ())

    def dump_resolution_photos(self, demand: Demand) -> list[dict[str, Any]]:
        return photo_links(demand.resolution_upload_ids or ())

    def dump_owner(self, demand: Demand) -> dict[str, Any] | None:
        if demand.owner_kind is None:
            return None
        return OwnerSchema().dump(  # type: ignore[no-any-return]
            {
                "kind": demand.owner_kind,
                "user_id": demand.owner_user_id,
                "department_id": demand.owner_department_id,
                "task_id": demand.owner_task_id,
            }
        )

    def dump_rating(self, demand: Demand) -> dict[str, Any] | None:
        rating = demand.rating
        if rating is None:
            return None
        return {
            "score": rating.score,
            "comment": rating.comment,
            "rated_at": rating.created_at.isoformat(),
            "changed_at": rating.updated_at.isoformat(),
        }

    def dump_deadlines(self, demand: Demand) -> dict[str, Any]:
        return DeadlinesSchema().dump(demand)  # type: ignore[no-any-return]


class TimelineStepSchema(Schema):
    action = Text(required=True)
    from_status = Text(allow_none=True)
    to_status = Text(required=True)
    actor_id = WholeNumber(allow_none=True)
    actor_name = Text(allow_none=True)
    note = MultilineText()
    details = fields.Dict()
    at = fields.DateTime(required=True)


class DemandAndTimeline:
    """A demand read with its timeline, for DemandWithTimelineSchema: the demand's
    fields, and ``timeline`` beside them."""

    def __init__(self, view: DemandView) -> None:
        self._demand = view.demand
        self.timeline = view.timeline
        if "description" in view.withheld:
            self.description = ""
        if "comment" in view.withheld and view.demand.rating is not None:
            rating = view.demand.rating
            self.rating = SimpleNamespace(
                score=rating.score,
                comment="",
                created_at=rating.created_at,
                updated_at=rating.updated_at,
            )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._demand, name)


class DemandWithTimelineSchema(DemandSchema):
    timeline = fields.List(
        fields.Nested(TimelineStepSchema),
        dump_only=True,
        metadata={"description": "every step, oldest first: who, when, why"},
    )


class DemandListArgs(PageArgs):
    status = Text(validate=validate.OneOf([s.value for s in DemandStatus]))
    org_id = WholeNumber(validate=validate.Range(min=1))


class OverdueArgs(PageArgs):
    org_id = WholeNumber(validate=validate.Range(min=1))


class PublicArgs(PageArgs):
    org_id = WholeNumber(required=True, validate=validate.Range(min=1))


class AcceptSchema(Schema):
    level = Text(
        load_default=DemandLevel.GRID.value,
        validate=validate.OneOf([lv.value for lv in DemandLevel]),
        metadata={"description": "三事分流: grid, community or street"},
    )
    note = NOTE


class DemandReasonSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=2, max=500))


class DemandNoteSchema(Schema):
    note = NOTE


class AssignSchema(Schema):
    owner = Text(
        required=True,
        validate=validate.OneOf(
            [OwnerKind.MEMBER.value, OwnerKind.STAFF.value, OwnerKind.DEPARTMENT.value]
        ),
        metadata={
            "description": "member (name user_id), staff (yourself) or department "
            "(吹哨: name department_id); a task owns it by being posted with demand_id"
        },
    )
    user_id = WholeNumber(validate=validate.Range(min=1))
    department_id = WholeNumber(validate=validate.Range(min=1))
    note = NOTE


class ResolveSchema(Schema):
    resolution = MultilineText(required=True, validate=validate.Length(min=2, max=2000))
    upload_ids = photo_ids("photos of what was done, from POST /uploads")


class MergeSchema(Schema):
    into = WholeNumber(
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": "the demand this one repeats"},
    )


class PublishSchema(Schema):
    summary = MultilineText(
        required=True,
        validate=validate.Length(min=2, max=500),
        metadata={"description": "what the public list says: no names, phones or doors"},
    )


class DecidedSchema(Schema):
    demand = fields.Nested(DemandSchema, required=True)
    transfers = fields.Method("dump_transfers")

    def dump_transfers(self, decided: Decided) -> list[dict[str, Any]]:
        views = [{"transfer": t, "direction": "in"} for t in decided.transfers]
        return TransferSchema(many=True).dump(views)  # type: ignore[no-any-return]


class RatingSchema(Schema):
    score = WholeNumber(required=True, validate=validate.Range(min=1, max=5))
    comment = MultilineText(load_default="", validate=validate.Length(max=300))


class WhistleStatsArgs(Schema):
    # ?from= is a Python keyword: the fields are named apart from the query string.
    first = fields.Date(data_key="from", metadata={"description": "first day; the quarter's"})
    last = fields.Date(data_key="to", metadata={"description": "last day, included"})


class WhistleStatsSchema(Schema):
    department_id = WholeNumber(required=True)
    first_day = fields.Date(attribute="span.first", required=True)
    last_day = fields.Date(attribute="span.last", required=True)
    received = WholeNumber(required=True)
    due = WholeNumber(required=True, metadata={"description": "past their time to 报到, or 报到'd"})
    acknowledged_on_time = WholeNumber(required=True)
    acknowledged_late = WholeNumber(required=True)
    acknowledge_rate = fields.Float(
        allow_none=True, metadata={"description": "报到率: on time / due; null when none is due"}
    )
    resolved = WholeNumber(required=True)
    resolved_on_time = WholeNumber(required=True)
    returned = WholeNumber(required=True)
    withdrawn = WholeNumber(required=True)
    waiting = WholeNumber(required=True)
    average_hours_to_acknowledge = fields.Float(allow_none=True)
    average_hours_to_answer = fields.Float(allow_none=True)
    average_rating = fields.Float(allow_none=True)
    ratings = WholeNumber(required=True)


class PublicDemandSchema(Schema):
    id = WholeNumber(required=True)
    category = Text(required=True)
    grid = Text(required=True, metadata={"description": "the grid it was in"})
    summary = MultilineText(required=True, metadata={"description": "what was done"})
    rating = WholeNumber(allow_none=True, metadata={"description": "the resident's 1 to 5"})
    resolved_at = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(required=True)


class LimitSchema(Schema):
    stage = Text(required=True, validate=validate.OneOf([s.value for s in Stage]))
    level = Text(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf([lv.value for lv in DemandLevel]),
        metadata={"description": "one level, or null for all"},
    )
    category = Text(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(CATEGORIES),
        metadata={"description": "one category, or null for all"},
    )
    amount = WholeNumber(required=True, validate=validate.Range(min=1, max=365))
    unit = Text(required=True, validate=validate.OneOf([u.value for u in LimitUnit]))
    id = WholeNumber(dump_only=True, allow_none=True, metadata={"description": "null: built in"})
    default = fields.Boolean(dump_only=True, metadata={"description": "built in, not kept"})


class ListArgs(PageArgs):
    org_id = WholeNumber(validate=validate.Range(min=1))
    first = fields.Date(data_key="from", metadata={"description": "first day, included"})
    last = fields.Date(data_key="to", metadata={"description": "last day, included"})
    level = Text(validate=validate.OneOf([lv.value for lv in DemandLevel]))
    category = Text(validate=validate.OneOf(CATEGORIES))
    format = Text(
        load_default="json",
        validate=validate.OneOf(["json", "xlsx"]),
        metadata={"description": "xlsx: the whole list as a spreadsheet (limit and cursor aside)"},
    )


class ListRowSchema(Schema):
    id = WholeNumber(required=True)
    place = Text(required=True)
    category = Text(required=True)
    description = MultilineText(required=True)
    status = Text(required=True)
    level = Text(allow_none=True)
    owner_kind = Text(allow_none=True)
    owner = Text(allow_none=True, metadata={"description": "who has it, by name"})
    created_at = fields.DateTime(required=True)
    assigned_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    resolve_due_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolution = MultilineText(allow_none=True)
    public_summary = MultilineText(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    rating = WholeNumber(allow_none=True)
    rating_comment = MultilineText(allow_none=True)
    overdue = fields.Boolean(required=True)
