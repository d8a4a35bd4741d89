"""Signing up for tasks, and one's own participations."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api import extensions
from api.authentication import current_actor
from api.pagination import PageArgs, int_cursor, page, page_schema
from points.tasks import ParticipationStatus
from service.db import utcnow
from service.tasks.signups import cancel, my_participations, sign_up

blp = Blueprint(
    "participations",
    __name__,
    url_prefix="/api/v1",
    description="Taking part in tasks (报名、签到、提交)",
)


class ParticipationSchema(Schema):
    id = fields.Integer(required=True)
    task_id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [s.value for s in ParticipationStatus]})
    role = fields.String(metadata={"description": "the role served in, which prices the work"})
    signed_up_at = fields.DateTime()
    checked_in_at = fields.DateTime(allow_none=True)
    checked_out_at = fields.DateTime(allow_none=True)


@blp.route("/tasks/<int:task_id>/signups")
class SignUps(MethodView):
    @blp.response(201, ParticipationSchema)
    def post(self, task_id: int) -> Any:
        """Sign up for a published task while places are left (one sign-up each)."""
        return sign_up(extensions.unit_of_work(), current_actor(), task_id, utcnow())


@blp.route("/participations/<int:participation_id>/cancel")
class Cancel(MethodView):
    @blp.response(200, ParticipationSchema)
    def post(self, participation_id: int) -> Any:
        """Withdraw before the task starts; the place goes back to others."""
        return cancel(extensions.unit_of_work(), current_actor(), participation_id, utcnow())


@blp.route("/me/participations")
class Mine(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(ParticipationSchema, "ParticipationPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your participations, newest first."""
        rows = my_participations(
            extensions.session(),
            current_actor(),
            args["limit"] + 1,
            int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda row: row.id)
