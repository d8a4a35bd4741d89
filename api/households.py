"""The household register (户) and visits to households (走访)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.ledger import TransferSchema
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import (
    PageArgs,
    int_cursor,
    offset_page,
    page,
    page_schema,
    time_id_cursor,
    time_id_key,
)
from api.text import MultilineText, Text
from api.uploads import photo_ids, photo_links
from points.households import VisitStatus
from service.db import utcnow
from service.households.models import HouseholdVisit
from service.households.register import (
    HouseholdChanges,
    HouseholdFilter,
    HouseholdOrder,
    NewHousehold,
    create_household,
    get_household,
    list_households,
    update_household,
)
from service.households.visits import (
    Confirmed,
    NewVisit,
    confirm_visit,
    my_visits,
    record_visit,
    reject_visit,
    visit_history,
    visit_queue,
)

blp = Blueprint(
    "households", __name__, url_prefix="/api/v1", description="Households (户) and visits (走访)"
)


class HouseholdSchema(Schema):
    id = WholeNumber(dump_only=True)
    org_id = WholeNumber(
        attribute="place_id",
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": "the place node, usually a grid"},
    )
    label = Text(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "the door, e.g. 3栋2单元401"},
    )
    head_name = Text(allow_none=True, load_default=None, validate=validate.Length(max=64))  # 户主
    needs = MultilineText(
        load_default="",
        validate=validate.Length(max=1000),
        metadata={"description": "what the household needs, e.g. 独居老人"},
    )
    active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_visited_at = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "when it was last visited, by confirmed visits; null if never"},
    )


class HouseholdChangesSchema(Schema):
    label = Text(validate=validate.Length(min=1, max=64))
    head_name = Text(allow_none=True, validate=validate.Length(max=64))
    needs = MultilineText(validate=validate.Length(max=1000))
    active = fields.Boolean(metadata={"description": "false takes it off the register"})


class HouseholdListArgs(PageArgs):
    org_id = WholeNumber(validate=validate.Range(min=1))
    q = Text(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "part of the door label or the head's name"},
    )
    active = fields.Boolean()
    sort = Text(
        load_default=HouseholdOrder.ID.value,
        validate=validate.OneOf([order.value for order in HouseholdOrder]),
        metadata={
            "description": "`id`: as put on the register; `last_visit`: longest since a "
            "confirmed visit first, never visited before them all"
        },
    )
    never_visited_since = fields.Date(
        metadata={
            "description": "only households with no confirmed visit on this day (Beijing "
            "time) or after, e.g. the quarter's first day"
        }
    )


class VisitSchema(Schema):
    id = WholeNumber(dump_only=True)
    household_id = WholeNumber(required=True, validate=validate.Range(min=1))
    visitor_id = WholeNumber(dump_only=True)
    role = Text(dump_only=True)
    visited_at = fields.AwareDateTime(required=True)
    note = MultilineText(load_default="", validate=validate.Length(max=1000))
    upload_ids = photo_ids()
    photos = fields.Method(
        "dump_photos",
        dump_only=True,
        metadata={"description": "upload_ids as links valid for an hour"},
    )
    status = Text(dump_only=True, metadata={"enum": [s.value for s in VisitStatus]})
    decided_at = fields.DateTime(dump_only=True, allow_none=True)
    reject_reason = Text(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)

    def dump_photos(self, visit: HouseholdVisit) -> list[dict[str, Any]]:
        return photo_links(visit.upload_ids or ())


class VisitHistorySchema(VisitSchema):
    visitor_name = Text(dump_only=True, metadata={"description": "who visited"})
    decided_by_id = WholeNumber(
        dump_only=True, allow_none=True, metadata={"description": "who confirmed or rejected"}
    )


class VisitRejectSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=2, max=500))


class VisitQueueArgs(PageArgs):
    status = Text(load_default="pending", validate=validate.OneOf(["pending"]))
    org_id = WholeNumber(validate=validate.Range(min=1))


class ConfirmedSchema(Schema):
    visit = fields.Nested(VisitSchema, required=True)
    transfers = fields.Method("dump_transfers")

    def dump_transfers(self, confirmed: Confirmed) -> list[dict[str, Any]]:
        views = [{"transfer": t, "direction": "in"} for t in confirmed.transfers]
        return TransferSchema(many=True).dump(views)  # type: ignore[no-any-return]


@blp.route("/households")
class Households(MethodView):
    @blp.arguments(HouseholdListArgs, location="query")
    @blp.response(200, page_schema(HouseholdSchema, "HouseholdPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Households in your scope (staff; members and volunteers where they serve)."""
        wanted = HouseholdFilter(
            place_id=args.get("org_id"),
            q=args.get("q"),
            active=args.get("active"),
            never_visited_since=args.get("never_visited_since"),
        )
        order, limit, position = (
            HouseholdOrder(args["sort"]),
            args["limit"],
            int_cursor(args["cursor"]),
        )
        if order is HouseholdOrder.LAST_VISIT:
            # An order that changes as visits are confirmed: pages go by offset.
            rows = list_households(
                extensions.session(),
                current_actor(),
                wanted,
                limit=limit + 1,
                order=order,
                offset=position,
            )
            return offset_page(rows, limit, position)
        rows = list_households(
            extensions.session(),
            current_actor(),
            wanted,
            limit=limit + 1,
            after_id=position or None,
        )
        return page(rows, limit, key=lambda row: row.id)

    @blp.arguments(HouseholdSchema)
    @blp.response(201, HouseholdSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Put a household on the register at a place you manage."""
        return create_household(extensions.unit_of_work(), current_actor(), NewHousehold(**body))


@blp.route("/households/<int:household_id>")
class OneHousehold(MethodView):
    @blp.response(200, HouseholdSchema)
    def get(self, household_id: int) -> Any:
        return get_household(extensions.session(), current_actor(), household_id)

    @blp.arguments(HouseholdChangesSchema)
    @blp.response(200, HouseholdSchema)
    def patch(self, body: dict[str, Any], household_id: int) -> Any:
        """Change a household's door label, head, needs, or take it off the register."""
        changes = HouseholdChanges(
            **{k: v for k, v in body.items() if v is not None},
            clear_head_name="head_name" in body and body["head_name"] is None,
        )
        return update_household(extensions.unit_of_work(), current_actor(), household_id, changes)


@blp.route("/households/<int:household_id>/visits")
class HouseholdVisits(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(VisitHistorySchema, "VisitHistoryPage"))
    def get(self, args: dict[str, Any], household_id: int) -> dict[str, Any]:
        """A household's visits, newest first: who, when, what they wrote, and whether
        staff confirmed it (staff and admins of its place)."""
        rows = visit_history(
            extensions.session(),
            current_actor(),
            household_id,
            args["limit"] + 1,
            time_id_cursor(args["cursor"]),
        )
        return page(rows, args["limit"], key=lambda row: time_id_key(row.visited_at, row.id))


@blp.route("/household-visits")
class Visits(MethodView):
    @blp.arguments(VisitQueueArgs, location="query")
    @blp.response(200, page_schema(VisitSchema, "VisitPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Visits awaiting confirmation in your scope, oldest first."""
        offset = int_cursor(args["cursor"])
        rows = visit_queue(
            extensions.session(), current_actor(), args.get("org_id"), args["limit"] + 1, offset
        )
        return offset_page(rows, args["limit"], offset)

    @blp.arguments(VisitSchema)
    @blp.response(201, VisitSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Log a visit to a household where you serve; staff confirm it, and then it earns.
        One visit per household a day (409 `already_visited_today`)."""
        spec = NewVisit(**{**body, "upload_ids": tuple(body["upload_ids"])})
        return record_visit(
            extensions.unit_of_work(),
            current_actor(),
            spec,
            utcnow(),
            checks=extensions.content_checks(),
        )


@blp.route("/household-visits/<int:visit_id>/confirm")
class ConfirmVisit(MethodView):
    @blp.response(200, ConfirmedSchema)
    def post(self, visit_id: int) -> Confirmed:
        """Confirm: the visitor is credited by the rules, once. Not your own visit."""
        return confirm_visit(extensions.unit_of_work(), current_actor(), visit_id, utcnow())


@blp.route("/household-visits/<int:visit_id>/reject")
class RejectVisit(MethodView):
    @blp.arguments(VisitRejectSchema)
    @blp.response(200, VisitSchema)
    def post(self, body: dict[str, Any], visit_id: int) -> Any:
        return reject_visit(
            extensions.unit_of_work(), current_actor(), visit_id, body["reason"], utcnow()
        )


@blp.route("/me/household-visits")
class MyVisits(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(VisitSchema, "MyVisitPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your visits, newest first."""
        rows = my_visits(
            extensions.session(),
            current_actor(),
            args["limit"] + 1,
            int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda row: row.id)
