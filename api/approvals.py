"""Submitting work, and staff approving or rejecting it (审核)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.ledger import TransferSchema
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, offset_page, page_schema
from api.participations import ParticipationSchema
from api.text import MultilineText, Text
from api.uploads import photo_links
from points.uploads import MAX_PHOTOS_PER_SUBMISSION
from service.db import utcnow
from service.tasks.approvals import (
    Approved,
    approval_queue,
    approve_many,
    approve_participation,
    reject_participation,
    reverse_approval,
    submit_participation,
)
from service.tasks.models import Participation

blp = Blueprint(
    "approvals", __name__, url_prefix="/api/v1", description="Submitting and approving work"
)


class SubmitSchema(Schema):
    note = MultilineText(load_default="", validate=validate.Length(max=1000))
    units = WholeNumber(
        validate=validate.Range(min=0, max=100_000),
        metadata={"description": "households visited or residents helped"},
    )
    household_ids = fields.List(
        WholeNumber(validate=validate.Range(min=1)),
        validate=validate.Length(max=200),
        metadata={"description": "households the work reached (in the task's place)"},
    )
    upload_ids = fields.List(
        WholeNumber(validate=validate.Range(min=1)),
        load_default=list,
        validate=validate.Length(max=MAX_PHOTOS_PER_SUBMISSION),
        metadata={"description": "photos from POST /uploads, yours and not yet handed in"},
    )


class ReviewedParticipationSchema(ParticipationSchema):
    """A participation as handed in and reviewed: with its photos and households."""

    household_ids = fields.List(WholeNumber(), metadata={"description": "households reached"})
    photos = fields.Method("dump_photos", metadata={"description": "links valid for an hour"})

    def dump_photos(self, participation: Participation) -> list[dict[str, Any]]:
        return photo_links(photo.upload_id for photo in participation.photos)


class QueuedParticipationSchema(ReviewedParticipationSchema):
    """Work waiting in the queue, with what a reviewer reads it by: the task and who did it."""

    task_title = Text(attribute="task.title")
    task_starts_at = fields.DateTime(attribute="task.starts_at")
    task_ends_at = fields.DateTime(attribute="task.ends_at")
    member_name = Text(attribute="member.name")


class RejectSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=2, max=500))


class QueueArgs(PageArgs):
    status = Text(load_default="pending", validate=validate.OneOf(["pending"]))
    org_id = WholeNumber(validate=validate.Range(min=1))


# Built once: a schema only reads its fields when dumping, and building one costs more
# than dumping two transfers.
_TRANSFERS = TransferSchema(many=True)


class ApprovedSchema(Schema):
    participation = fields.Nested(ParticipationSchema, required=True)
    transfers = fields.Method("dump_transfers")

    def dump_transfers(self, approved: Approved) -> list[dict[str, Any]]:
        views = [{"transfer": t, "direction": "in"} for t in approved.transfers]
        return _TRANSFERS.dump(views)  # type: ignore[no-any-return]


class BulkSchema(Schema):
    participation_ids = fields.List(
        WholeNumber(validate=validate.Range(min=1)),
        required=True,
        validate=validate.Length(min=1, max=100),
    )


class BulkResultSchema(Schema):
    participation_id = WholeNumber()
    status = Text()
    code = Text(allow_none=True)
    message = Text(allow_none=True)


class BulkResultsSchema(Schema):
    results = fields.List(fields.Nested(BulkResultSchema))


@blp.route("/participations/<int:participation_id>/submit")
class Submit(MethodView):
    @blp.arguments(SubmitSchema)
    @blp.response(200, ReviewedParticipationSchema)
    def post(self, body: dict[str, Any], participation_id: int) -> Any:
        """Hand in the work after checking out: a note and, for counted work, the units."""
        return submit_participation(
            extensions.unit_of_work(),
            current_actor(),
            participation_id,
            body["note"],
            body.get("units"),
            utcnow(),
            body["upload_ids"],
            household_ids=body.get("household_ids"),
            checks=extensions.content_checks(),
        )


@blp.route("/approvals")
class Queue(MethodView):
    @blp.arguments(QueueArgs, location="query")
    @blp.response(200, page_schema(QueuedParticipationSchema, "ApprovalPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Submitted work in your scope, oldest first, with its flags."""
        offset = int_cursor(args["cursor"])
        rows = approval_queue(
            extensions.session(), current_actor(), args.get("org_id"), args["limit"] + 1, offset
        )
        return offset_page(rows, args["limit"], offset)


@blp.route("/participations/<int:participation_id>/approve")
class Approve(MethodView):
    @blp.response(200, ApprovedSchema)
    def post(self, participation_id: int) -> Approved:
        """Approve: points are credited by the rules in force, in the same transaction.
        Nobody approves their own work; approving twice is 409 and credits once."""
        return approve_participation(
            extensions.unit_of_work(), current_actor(), participation_id, utcnow()
        )


@blp.route("/participations/<int:participation_id>/reject")
class Reject(MethodView):
    @blp.arguments(RejectSchema)
    @blp.response(200, ParticipationSchema)
    def post(self, body: dict[str, Any], participation_id: int) -> Any:
        return reject_participation(
            extensions.unit_of_work(), current_actor(), participation_id, body["reason"], utcnow()
        )


@blp.route("/participations/<int:participation_id>/reverse")
class ReverseApproval(MethodView):
    @blp.arguments(RejectSchema)
    @blp.response(200, ApprovedSchema)
    def post(self, body: dict[str, Any], participation_id: int) -> Approved:
        """Undo an approval made in error; its points are taken back (409 if spent)."""
        return reverse_approval(
            extensions.unit_of_work(), current_actor(), participation_id, body["reason"], utcnow()
        )


@blp.route("/approvals/bulk")
class Bulk(MethodView):
    @blp.arguments(BulkSchema)
    @blp.response(200, BulkResultsSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Approve many at once; each is approved or refused on its own."""
        outcomes = approve_many(
            extensions.unit_of_work(), current_actor(), body["participation_ids"], utcnow()
        )
        return {
            "results": [
                {
                    "participation_id": o.participation_id,
                    "status": "approved" if o.approved else "refused",
                    "code": o.error.code if o.error else None,
                    "message": o.error.message if o.error else None,
                }
                for o in outcomes
            ]
        }
