"""Staff looking after members' points: their ledger, awards, deductions, reversals."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, post_load, validate

from api import extensions
from api.authentication import current_actor
from api.ledger import CURRENCIES, AccountListSchema, TransferListArgs, TransferSchema
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, page, page_schema
from api.text import Text
from points.adjustments import AdjustmentKind, AdjustmentStatus
from service.db import utcnow
from service.ledger import adjustments
from service.ledger.balances import accounts_for_staff, transfers_for_staff

blp = Blueprint(
    "adjustments", __name__, url_prefix="/api/v1", description="Members' points, for staff"
)

REASON = validate.Length(min=2, max=500)
KINDS = [kind.value for kind in AdjustmentKind]
STATUSES = [status.value for status in AdjustmentStatus]


class AdjustmentRequestSchema(Schema):
    kind = Text(required=True, validate=validate.OneOf(KINDS))
    currency = Text(required=True, validate=validate.OneOf(CURRENCIES))
    amount = WholeNumber(required=True, validate=validate.Range(min=1, max=1_000_000))
    reason = Text(required=True, validate=REASON)

    @post_load
    def kind_as_enum(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "kind": AdjustmentKind(data["kind"])}


class AdjustmentSchema(Schema):
    id = WholeNumber()
    user_id = WholeNumber()
    kind = Text()
    currency = Text()
    amount = WholeNumber()
    reason = Text()
    status = Text(metadata={"enum": STATUSES})
    requested_by_id = WholeNumber()
    decided_by_id = WholeNumber(allow_none=True)
    transfer_id = WholeNumber(allow_none=True)
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class ReasonSchema(Schema):
    reason = Text(required=True, validate=REASON)


class ReversalSchema(Schema):
    reversal = fields.Nested(TransferSchema, required=True)


@blp.route("/users/<int:user_id>/accounts")
class MemberAccounts(MethodView):
    @blp.response(200, AccountListSchema)
    def get(self, user_id: int) -> dict[str, Any]:
        """A member's balances (staff and admins of where they live)."""
        return {"items": accounts_for_staff(extensions.session(), current_actor(), user_id)}


@blp.route("/users/<int:user_id>/transfers")
class MemberTransfers(MethodView):
    @blp.arguments(TransferListArgs, location="query")
    @blp.response(200, page_schema(TransferSchema, "MemberTransferPage"))
    def get(self, args: dict[str, Any], user_id: int) -> dict[str, Any]:
        rows = transfers_for_staff(
            extensions.session(),
            current_actor(),
            user_id,
            currency=args.get("currency"),
            before_id=int_cursor(args["cursor"]) or None,
            limit=args["limit"] + 1,
        )
        return page(rows, args["limit"], key=lambda view: view.transfer.id)


@blp.route("/users/<int:user_id>/adjustments")
class Adjust(MethodView):
    @blp.arguments(AdjustmentRequestSchema)
    @blp.response(201, AdjustmentSchema)
    def post(self, body: dict[str, Any], user_id: int) -> Any:
        """Award or deduct by hand, with a reason. Above the confirmation amount it waits
        (status pending_confirmation) for a second staff member."""
        return adjustments.request_adjustment(
            extensions.unit_of_work(),
            current_actor(),
            adjustments.AdjustmentRequest(user_id=user_id, **body),
            confirm_above=extensions.settings().second_confirmation_above,
            now=utcnow(),
        )


@blp.route("/adjustments")
class PendingAdjustments(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(AdjustmentSchema, "AdjustmentPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Adjustments waiting for a second staff member, oldest first."""
        rows = adjustments.list_pending(extensions.session(), current_actor(), args["limit"])
        return {"items": rows, "next_cursor": None}


@blp.route("/adjustments/<int:adjustment_id>/confirm")
class Confirm(MethodView):
    @blp.response(200, AdjustmentSchema)
    def post(self, adjustment_id: int) -> Any:
        """Confirm someone else's adjustment: its transfer is posted now."""
        return adjustments.confirm_adjustment(
            extensions.unit_of_work(), current_actor(), adjustment_id, utcnow()
        )


@blp.route("/adjustments/<int:adjustment_id>/reject")
class Reject(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, AdjustmentSchema)
    def post(self, body: dict[str, Any], adjustment_id: int) -> Any:
        return adjustments.reject_adjustment(
            extensions.unit_of_work(), current_actor(), adjustment_id, body["reason"], utcnow()
        )


@blp.route("/transfers/<int:transfer_id>/reverse")
class Reverse(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, ReversalSchema)
    def post(self, body: dict[str, Any], transfer_id: int) -> dict[str, Any]:
        """Undo a member's earning, award or deduction with a mirror transfer. Refused
        (409) if the points were spent meanwhile, and for anything already reversed."""
        reversal = adjustments.reverse_for_staff(
            extensions.unit_of_work(), current_actor(), transfer_id, body["reason"]
        )
        return {"reversal": {"transfer": reversal, "direction": "out"}}
