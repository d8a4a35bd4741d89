"""A member's points: balances and transfers."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, page, page_schema
from api.text import Text
from service.ledger.balances import accounts_of, transfers_of
from service.ledger.expiry import expiring_for

blp = Blueprint("ledger", __name__, url_prefix="/api/v1/me", description="Your points")

CURRENCIES = ["jifen", "xingfubi"]


class AccountSchema(Schema):
    currency = Text(required=True, metadata={"enum": CURRENCIES})
    name = Text(required=True, metadata={"example": "幸福币"})
    balance = WholeNumber(required=True)
    available = WholeNumber(
        required=True, metadata={"description": "balance less what open redemptions reserve"}
    )
    earned_total = WholeNumber(
        required=True, metadata={"description": "ever earned; spending does not lower it"}
    )


class AccountListSchema(Schema):
    items = fields.List(fields.Nested(AccountSchema), required=True)


class TransferSchema(Schema):
    id = WholeNumber(attribute="transfer.id", required=True)
    kind = Text(attribute="transfer.kind", required=True)
    phase = Text(attribute="transfer.phase")
    amount = WholeNumber(attribute="transfer.amount", required=True)
    currency = Text(attribute="transfer.currency", required=True)
    direction = Text(required=True, metadata={"enum": ["in", "out"]})
    explanation = Text(attribute="transfer.explanation")
    reverses_id = WholeNumber(attribute="transfer.reverses_id", allow_none=True)
    actor_id = WholeNumber(
        attribute="transfer.actor_id",
        allow_none=True,
        metadata={"description": "who made it: an approver, a clerk, a proxy (代办)"},
    )
    actor_name = Text(allow_none=True)
    created_at = fields.DateTime(attribute="transfer.created_at")


class TransferListArgs(PageArgs):
    currency = Text(validate=validate.OneOf(CURRENCIES))


@blp.route("/accounts")
class Accounts(MethodView):
    @blp.response(200, AccountListSchema)
    def get(self) -> dict[str, Any]:
        """Your balance in each currency."""
        return {"items": accounts_of(extensions.session(), current_actor().user_id)}


class ExpiringSchema(Schema):
    currency = Text(required=True)
    amount = WholeNumber(required=True)
    expires_at = fields.DateTime(required=True)


class ExpiringListSchema(Schema):
    items = fields.List(fields.Nested(ExpiringSchema), required=True)


@blp.route("/expiring")
class Expiring(MethodView):
    @blp.response(200, ExpiringListSchema)
    def get(self) -> dict[str, Any]:
        """Your spendable points that will expire, soonest first (spent oldest first)."""
        return {"items": expiring_for(extensions.session(), current_actor().user_id)}


@blp.route("/transfers")
class Transfers(MethodView):
    @blp.arguments(TransferListArgs, location="query")
    @blp.response(200, page_schema(TransferSchema, "TransferPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your transfers, newest first, each with how its amount was worked out."""
        cursor = int_cursor(args["cursor"]) or None
        rows = transfers_of(
            extensions.session(),
            current_actor().user_id,
            currency=args.get("currency"),
            before_id=cursor,
            limit=args["limit"] + 1,
        )
        return page(rows, args["limit"], key=lambda view: view.transfer.id)
