"""点单 delivery (送菜上门 / 代办) over HTTP: an order becomes its task in one step, and
its receiver confirms it came; and whom a demand may be whistled to (吹哨)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.demand_schemas import NOTE, DemandSchema
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.tasks import TaskSchema, choices
from api.text import MultilineText, Text
from points.tasks import CheckinMode
from service.db import utcnow
from service.demands.orders import confirm_receipt
from service.demands.whistles import departments_to_whistle
from service.tasks.orders import OrderTask, post_order_task

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="点单 delivery and 吹哨")


class OrderTaskSchema(Schema):
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    lat = fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=-90, max=90),
        metadata={"description": "the door, for check-in; the order's location if not given"},
    )
    lng = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    radius_m = WholeNumber(load_default=100, validate=validate.Range(min=10, max=5000))
    capacity = WholeNumber(load_default=1, validate=validate.Range(min=1, max=100))
    title = Text(load_default=None, allow_none=True, validate=validate.Length(min=2, max=100))
    description = MultilineText(
        load_default=None, allow_none=True, validate=validate.Length(max=4000)
    )
    checkin_mode = Text(load_default=CheckinMode.GEOFENCE.value, validate=choices(CheckinMode))
    publish = fields.Boolean(load_default=True)


class ConfirmSchema(Schema):
    note = NOTE


class WhistleChoiceSchema(Schema):
    id = WholeNumber(attribute="department.id", required=True)
    name = Text(attribute="department.name", required=True)
    paired = fields.Boolean(
        required=True,
        metadata={"description": "百部联百村: paired with the demand's community today"},
    )


@blp.route("/demands/<int:demand_id>/task")
class OrderToTask(MethodView):
    @blp.arguments(OrderTaskSchema)
    @blp.response(201, TaskSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """点单 → 派单: turn an accepted order into the task that serves it (送菜上门 for a
        delivery, 邻里互助 for an errand), filled in from the order: its place, its door,
        its household. Approving the task's work is the order's 反馈."""
        spec = OrderTask(**{**body, "checkin_mode": CheckinMode(body["checkin_mode"])})
        return post_order_task(
            extensions.unit_of_work(), current_actor(), demand_id, spec, utcnow()
        )


@blp.route("/demands/<int:demand_id>/confirm")
class ConfirmReceipt(MethodView):
    @blp.arguments(ConfirmSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """The delivery or errand reached the household: its resident says so, or whoever
        filed the order for them, asking them. That closes the order (销号)."""
        return confirm_receipt(
            extensions.unit_of_work(), current_actor(), demand_id, utcnow(), note=body["note"]
        )


@blp.route("/demands/<int:demand_id>/departments")
class WhistleChoices(MethodView):
    @blp.response(200, WhistleChoiceSchema(many=True))
    def get(self, demand_id: int) -> Any:
        """The departments this demand may be whistled to (吹哨), those paired with its
        community first (百部联百村), then by name. Staff who handle it."""
        return departments_to_whistle(extensions.session(), current_actor(), demand_id, utcnow())
