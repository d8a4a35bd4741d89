"""The shapes stations, catalogue items, stock changes, pickups and reports take over HTTP."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from api.ledger import CURRENCIES
from api.nearness import NearArgs
from api.numbers import WholeNumber
from api.pagination import PageArgs
from api.redemptions import RedemptionSchema
from api.text import MultilineText, Text, VerbatimText
from points.redemption import ItemAudience, LimitPeriod, RedemptionStatus
from service.stations.catalogue import (
    CLEARABLE,
    ItemFields,
    StationFields,
)
from service.stations.reports import ReportFormat


def choices(kind: Any) -> validate.OneOf:
    return validate.OneOf([member.value for member in kind])


class StationSchema(Schema):
    id = WholeNumber(attribute="station.id", dump_only=True)
    org_id = WholeNumber(attribute="station.place_id", dump_only=True)
    name = Text(attribute="station.name", dump_only=True)
    address = Text(attribute="station.address", dump_only=True)
    lat = fields.Float(attribute="station.lat", dump_only=True)
    lng = fields.Float(attribute="station.lng", dump_only=True)
    opening_hours = MultilineText(attribute="station.opening_hours", dump_only=True)
    active = fields.Boolean(attribute="station.active", dump_only=True)
    clerk_ids = fields.List(WholeNumber(), dump_only=True)
    distance_m = fields.Float(allow_none=True, dump_only=True)


class StationInSchema(Schema):
    org_id = WholeNumber(attribute="place_id", validate=validate.Range(min=1))
    name = Text(validate=validate.Length(min=2, max=100))
    address = Text(validate=validate.Length(max=200))
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lng = fields.Float(validate=validate.Range(min=-180, max=180))
    opening_hours = MultilineText(validate=validate.Length(max=200))
    active = fields.Boolean()

    @post_load
    def to_fields(self, data: dict[str, Any], **_: Any) -> StationFields:
        return StationFields(**data)


class NewStationSchema(StationInSchema):
    # A new station needs these; a change may name any of them.
    @validates_schema
    def has_required(self, data: dict[str, Any], **_: Any) -> None:
        missing = [
            name
            for name, key in (
                ("org_id", "place_id"),
                ("name", "name"),
                ("lat", "lat"),
                ("lng", "lng"),
            )
            if key not in data
        ]
        if missing:
            raise ValidationError({name: ["Missing data for required field."] for name in missing})


class ItemSchema(Schema):
    id = WholeNumber(dump_only=True)
    station_id = WholeNumber(dump_only=True)
    name = Text(validate=validate.Length(min=1, max=100))
    description = MultilineText(validate=validate.Length(max=4000))
    image_url = Text(allow_none=True, validate=validate.Length(max=500))
    price = WholeNumber(validate=validate.Range(min=1, max=10_000_000))
    currency = Text(validate=validate.OneOf(CURRENCIES))
    stock = WholeNumber(validate=validate.Range(min=0, max=1_000_000))
    per_member_limit = WholeNumber(allow_none=True, validate=validate.Range(min=1, max=10_000))
    limit_period = Text(validate=choices(LimitPeriod))
    audience = Text(validate=choices(ItemAudience))
    active = fields.Boolean()
    available_from = fields.AwareDateTime(allow_none=True)
    available_until = fields.AwareDateTime(allow_none=True)

    @post_load
    def to_fields(self, data: dict[str, Any], **_: Any) -> ItemFields:
        known = {f.name for f in dataclass_fields(ItemFields)}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known and v is not None}
        values["cleared"] = frozenset(k for k, v in data.items() if v is None and k in CLEARABLE)
        if "limit_period" in values:
            values["limit_period"] = LimitPeriod(values["limit_period"])
        if "audience" in values:
            values["audience"] = ItemAudience(values["audience"])
        return ItemFields(**values)


class NewItemSchema(ItemSchema):
    @validates_schema
    def has_required(self, data: dict[str, Any], **_: Any) -> None:
        missing = [name for name in ("name", "price", "currency") if name not in data]
        if missing:
            raise ValidationError({name: ["Missing data for required field."] for name in missing})


class StationListArgs(PageArgs, NearArgs):
    org_id = WholeNumber(validate=validate.Range(min=1))


class StationRedemptionArgs(PageArgs):
    status = Text(validate=choices(RedemptionStatus))


class StationRedemptionSchema(RedemptionSchema):
    class Meta:
        exclude = ("pickup_code", "qr_payload")

    user_id = WholeNumber(attribute="redemption.user_id")
    fulfilled_by_id = WholeNumber(attribute="redemption.fulfilled_by_id", allow_none=True)


class StockChangeSchema(Schema):
    delta = WholeNumber(
        required=True,
        validate=validate.Range(min=-1_000_000, max=1_000_000),
        metadata={"description": "+ delivered in, − written off"},
    )
    reason = Text(required=True, validate=validate.Length(min=2, max=500))


class StockMovementSchema(Schema):
    id = WholeNumber()
    item_id = WholeNumber()
    delta = WholeNumber()
    reason = Text()
    actor_id = WholeNumber()
    stock_after = WholeNumber()
    created_at = fields.DateTime()


class PickupSchema(Schema):
    pickup_code = VerbatimText(validate=validate.Length(min=1, max=20))
    qr_payload = VerbatimText(
        validate=validate.Length(min=1, max=100), metadata={"description": "instead of the code"}
    )


class PickupResultSchema(Schema):
    redemption = fields.Nested(RedemptionSchema, required=True)
    status = Text(required=True)
    member_name = Text(
        attribute="redemption.member_name", metadata={"description": "whom to hand the goods to"}
    )


class ReportArgs(Schema):
    start = fields.AwareDateTime(data_key="from", required=True)
    end = fields.AwareDateTime(data_key="to", required=True)
    format = Text(load_default=ReportFormat.CSV.value, validate=choices(ReportFormat))
