"""Redeeming 幸福币 for goods at a station, and one's own redemptions."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.idempotency import HEADER_DOC, once
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, page, page_schema
from api.text import Text, VerbatimText
from points.redemption import RedemptionStatus, derive_qr_key
from service.db import utcnow
from service.stations.redemption import (
    MAX_QUANTITY,
    RedemptionPolicy,
    RedemptionView,
    hold_redemption,
    my_redemptions,
)
from service.stations.release import cancel_redemption

blp = Blueprint("redemptions", __name__, url_prefix="/api/v1", description="Redemption (兑换)")


def policy() -> RedemptionPolicy:
    settings = extensions.settings()
    return RedemptionPolicy(
        hold_days=settings.redemption_hold_days,
        max_open=settings.max_open_redemptions,
        qr_key=derive_qr_key(settings.secret_key),
    )


class RedemptionSchema(Schema):
    id = WholeNumber(attribute="redemption.id", required=True)
    status = Text(
        attribute="redemption.status",
        required=True,
        metadata={"enum": [s.value for s in RedemptionStatus]},
    )
    pickup_code = VerbatimText(
        attribute="redemption.pickup_code",
        required=True,
        metadata={"description": "six digits (2-9) to tell the clerk"},
    )
    qr_payload = VerbatimText(
        allow_none=True, metadata={"description": "signed, for a QR the clerk scans; while held"}
    )
    expires_at = fields.DateTime(attribute="redemption.expires_at", required=True)
    item_id = WholeNumber(attribute="redemption.item_id")
    item_name = Text(attribute="redemption.item_name")
    station_id = WholeNumber(attribute="redemption.station_id")
    quantity = WholeNumber(attribute="redemption.quantity")
    amount = WholeNumber(attribute="redemption.amount")
    currency = Text(attribute="redemption.currency")
    created_at = fields.DateTime(attribute="redemption.created_at")
    user_id = WholeNumber(
        attribute="redemption.user_id", metadata={"description": "whose points and goods"}
    )
    acted_by_id = WholeNumber(
        attribute="redemption.acted_by_id",
        allow_none=True,
        metadata={"description": "代办: the proxy who redeemed for them"},
    )
    fulfilled_at = fields.DateTime(attribute="redemption.fulfilled_at", allow_none=True)
    closed_at = fields.DateTime(attribute="redemption.closed_at", allow_none=True)


class RedeemSchema(Schema):
    item_id = WholeNumber(required=True, validate=validate.Range(min=1))
    quantity = WholeNumber(load_default=1, validate=validate.Range(min=1, max=MAX_QUANTITY))
    for_user_id = WholeNumber(
        validate=validate.Range(min=1),
        metadata={
            "description": "代办: redeem for the person you act for, from their points; "
            "403 not_proxy without a running proxy link"
        },
    )


# Built at import: the answer is dumped here (to be replayed byte for byte), not by
# flask-smorest, and building a schema costs more than using it.
_REDEMPTION = RedemptionSchema()


class MineArgs(PageArgs):
    status = Text(validate=validate.OneOf([s.value for s in RedemptionStatus]))


@blp.route("/redemptions")
class Redemptions(MethodView):
    @blp.arguments(RedeemSchema)
    @blp.response(201, RedemptionSchema)
    @blp.doc(parameters=[HEADER_DOC])
    def post(self, body: dict[str, Any]) -> Response:
        """Hold points and goods: 409 out_of_stock, insufficient_balance, limit_reached,
        item_inactive or too_many_open_holds say why not."""
        actor, now, rules = current_actor(), utcnow(), policy()
        return once(
            actor,
            body,
            lambda session: hold_redemption(
                session,
                actor,
                body["item_id"],
                body["quantity"],
                now,
                rules,
                for_user_id=body.get("for_user_id"),
            ),
            _REDEMPTION.dump,
        )


@blp.route("/redemptions/<int:redemption_id>/cancel")
class Cancel(MethodView):
    @blp.response(200, RedemptionSchema)
    def post(self, redemption_id: int) -> RedemptionView:
        """Cancel your own redemption before pickup: points and stock come back."""
        return cancel_redemption(
            extensions.unit_of_work(), current_actor(), redemption_id, utcnow(), policy()
        )


@blp.route("/me/redemptions")
class Mine(MethodView):
    @blp.arguments(MineArgs, location="query")
    @blp.response(200, page_schema(RedemptionSchema, "RedemptionPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your redemptions, newest first."""
        rows = my_redemptions(
            extensions.session(),
            current_actor(),
            policy(),
            status=RedemptionStatus(args["status"]) if "status" in args else None,
            limit=args["limit"] + 1,
            before_id=int_cursor(args["cursor"]) or None,
            now=utcnow(),
        )
        return page(rows, args["limit"], key=lambda row: row.redemption.id)
