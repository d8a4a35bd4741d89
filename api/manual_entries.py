"""补录: staff entering work done without check-in, for approval like any other."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.approvals import ReviewedParticipationSchema
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.text import MultilineText, Text
from points.uploads import MAX_PHOTOS_PER_SUBMISSION
from service.db import utcnow
from service.tasks.manual_entry import ManualEntry, record_manually

blp = Blueprint(
    "manual_entries", __name__, url_prefix="/api/v1", description="Work entered by hand (补录)"
)


class ManualEntrySchema(Schema):
    user_id = WholeNumber(
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": "whose work it was: signed up, or in the task's audience"},
    )
    # Range is written as a number here: apispec would render a Decimal bound as a string.
    hours = fields.Decimal(
        required=True,
        places=2,
        as_string=False,
        validate=validate.Range(min=Decimal("0.01"), max=1000),
        metadata={"description": "at most the task's length", "minimum": 0.01, "maximum": 1000},
    )
    units = WholeNumber(
        validate=validate.Range(min=0, max=100_000),
        metadata={"description": "households visited or residents helped (counted work)"},
    )
    reason = Text(
        required=True,
        validate=validate.Length(min=2, max=500),
        metadata={"description": "why the work was not checked in"},
    )
    note = MultilineText(
        load_default="",
        validate=validate.Length(max=1000),
        metadata={"description": "evidence in words: who saw it, what was done"},
    )
    upload_ids = fields.List(
        WholeNumber(validate=validate.Range(min=1)),
        load_default=list,
        validate=validate.Length(max=MAX_PHOTOS_PER_SUBMISSION),
        metadata={"description": "photos from POST /uploads, yours and not yet handed in"},
    )


@blp.route("/tasks/<int:task_id>/manual-entries")
class ManualEntries(MethodView):
    @blp.arguments(ManualEntrySchema)
    @blp.response(201, ReviewedParticipationSchema)
    def post(self, body: dict[str, Any], task_id: int) -> Any:
        """Enter someone's work on the task after the fact (staff of its place): it is
        submitted, flagged manual_entry, and waits for approval; above
        LIANXIN_MANUAL_ENTRY_CONFIRM_ABOVE_HOURS a second staff member approves it."""
        return record_manually(
            extensions.unit_of_work(),
            current_actor(),
            task_id,
            ManualEntry(**body),
            utcnow(),
            confirm_above=Decimal(extensions.settings().manual_entry_confirm_above_hours),
            confirm_above_units=extensions.settings().manual_entry_confirm_above_units,
        )
