"""No-shows (爽约): one's own record, staff excusing one, a task's roster, and the
no-show policy each place keeps (the nearest one up the tree applies)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, page, page_schema
from api.participations import ParticipationSchema
from api.text import Text
from points.no_shows import MAX_LIMIT, MAX_WINDOW_DAYS, NoShowPolicy
from service.db import utcnow
from service.tasks.no_show_policies import (
    PlacePolicy,
    forget_policy,
    keep_policy,
    list_policies,
)
from service.tasks.no_shows import NoShowRecord, excuse_no_show, my_no_shows
from service.tasks.roster import task_participations

blp = Blueprint(
    "no_shows", __name__, url_prefix="/api/v1", description="No-shows (爽约) and their policy"
)


class PolicySchema(Schema):
    org_id = WholeNumber(
        required=True,
        validate=validate.Range(min=1),
        allow_none=True,
        metadata={"description": "the place keeping it (and those below); null: built in"},
    )
    max_no_shows = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_LIMIT))
    window_days = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_WINDOW_DAYS))
    active = fields.Boolean(
        load_default=True, metadata={"description": "false turns the rule off there"}
    )
    id = WholeNumber(dump_only=True, allow_none=True, metadata={"description": "null: built in"})
    default = fields.Boolean(dump_only=True, metadata={"description": "built in, not kept"})


class PolicyArgs(PolicySchema):
    org_id = WholeNumber(required=True, validate=validate.Range(min=1))


class NoShowSchema(Schema):
    participation_id = WholeNumber(required=True)
    task_id = WholeNumber(required=True)
    task_title = Text(required=True)
    no_show_at = fields.DateTime(required=True, metadata={"description": "when the task ended"})
    excused = fields.Boolean(required=True)
    excuse_reason = Text(allow_none=True)


class NoShowRecordSchema(Schema):
    items = fields.List(fields.Nested(NoShowSchema), required=True)
    policy = fields.Nested(PolicySchema, required=True)
    blocked = fields.Boolean(required=True, metadata={"description": "sign-up refused now"})
    clears_at = fields.DateTime(
        allow_none=True, metadata={"description": "when sign-up opens again; null: open"}
    )


class RecordArgs(Schema):
    org_id = WholeNumber(
        load_default=None,
        validate=validate.Range(min=1),
        metadata={"description": "the policy of this place (a task's); default: where you live"},
    )


class ExcuseSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=200))


def _policy_view(kept: PlacePolicy) -> dict[str, Any]:
    return {
        "org_id": kept.place_id,
        "max_no_shows": kept.policy.limit,
        "window_days": kept.policy.window_days,
        "active": kept.policy.active,
        "id": kept.id,
        "default": kept.id is None,
    }


def _record_view(record: NoShowRecord) -> dict[str, Any]:
    return {
        "items": record.items,
        "policy": _policy_view(record.policy),
        "blocked": record.blocked,
        "clears_at": record.clears_at,
    }


@blp.route("/me/no-shows")
class MyNoShows(MethodView):
    @blp.arguments(RecordArgs, location="query")
    @blp.response(200, NoShowRecordSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your no-shows within the policy's window (excused ones too), newest first, and
        whether they keep you from signing up, until ``clears_at``."""
        return _record_view(
            my_no_shows(extensions.session(), current_actor(), utcnow(), args["org_id"])
        )


@blp.route("/participations/<int:participation_id>/excuse")
class Excuse(MethodView):
    @blp.arguments(ExcuseSchema)
    @blp.response(200, ParticipationSchema)
    def post(self, body: dict[str, Any], participation_id: int) -> Any:
        """Excuse a no-show with a reason (staff of the task's place): it stays on the
        record and no longer counts."""
        return excuse_no_show(
            extensions.unit_of_work(), current_actor(), participation_id, body["reason"], utcnow()
        )


class RosterEntrySchema(ParticipationSchema):
    """One on the roster, with the name staff read it by."""

    member_name = Text(attribute="member.name")


@blp.route("/tasks/<int:task_id>/participations")
class Roster(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(RosterEntrySchema, "RosterPage"))
    def get(self, args: dict[str, Any], task_id: int) -> dict[str, Any]:
        """Everyone on a task, in sign-up order, with their status (no-shows included).
        Staff of its place."""
        rows = task_participations(
            extensions.session(),
            current_actor(),
            task_id,
            args["limit"] + 1,
            int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda row: row.id)


@blp.route("/no-show-policies")
class Policies(MethodView):
    @blp.response(200, PolicySchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The policies kept in the places you run tasks in, then the built-in default.
        At a place the nearest one up the tree applies. Staff and admins."""
        return [_policy_view(kept) for kept in list_policies(extensions.session(), current_actor())]

    @blp.arguments(PolicyArgs)
    @blp.response(200, PolicySchema)
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Keep a place's policy: ``max_no_shows`` within ``window_days`` block sign-up
        there and below (``active: false`` turns it off). Applies from the next sign-up."""
        kept = keep_policy(
            extensions.unit_of_work(),
            current_actor(),
            body["org_id"],
            NoShowPolicy(body["max_no_shows"], body["window_days"], body["active"]),
            utcnow(),
        )
        return _policy_view(kept)


@blp.route("/no-show-policies/<int:policy_id>")
class OnePolicy(MethodView):
    @blp.response(204)
    def delete(self, policy_id: int) -> None:
        """Forget a place's policy: the nearest one above it (or the default) applies."""
        forget_policy(extensions.unit_of_work(), current_actor(), policy_id)
