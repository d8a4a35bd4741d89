"""Stations (驿站) and their catalogues; stock, pickups and reports for those who run them."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from typing import Any

from flask import Response
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from api import extensions
from api.authentication import current_actor
from api.idempotency import HEADER_DOC, once
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, offset_page, page, page_schema
from api.redemptions import RedemptionSchema, policy
from points.redemption import ItemAudience, LimitPeriod, RedemptionStatus
from service.db import utcnow
from service.stations.catalogue import (
    CLEARABLE,
    ItemFields,
    StationFields,
    StationView,
    create_item,
    create_station,
    get_station,
    list_items,
    list_stations,
    update_item,
    update_station,
    view,
)
from service.stations.pickups import hand_over, station_redemptions
from service.stations.reports import ReportFormat, station_report
from service.stations.stock import adjust_stock, movements

blp = Blueprint("stations", __name__, url_prefix="/api/v1", description="Stations (驿站) and goods")


def choices(kind: Any) -> validate.OneOf:
    return validate.OneOf([member.value for member in kind])


class StationSchema(Schema):
    id = fields.Integer(attribute="station.id", dump_only=True)
    org_id = fields.Integer(attribute="station.place_id", dump_only=True)
    name = fields.String(attribute="station.name", dump_only=True)
    address = fields.String(attribute="station.address", dump_only=True)
    lat = fields.Float(attribute="station.lat", dump_only=True)
    lng = fields.Float(attribute="station.lng", dump_only=True)
    opening_hours = fields.String(attribute="station.opening_hours", dump_only=True)
    active = fields.Boolean(attribute="station.active", dump_only=True)
    clerk_ids = fields.List(fields.Integer(), dump_only=True)
    distance_m = fields.Float(allow_none=True, dump_only=True)


class StationInSchema(Schema):
    org_id = fields.Integer(attribute="place_id", validate=validate.Range(min=1))
    name = fields.String(validate=validate.Length(min=2, max=100))
    address = fields.String(validate=validate.Length(max=200))
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lng = fields.Float(validate=validate.Range(min=-180, max=180))
    opening_hours = fields.String(validate=validate.Length(max=200))
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
    id = fields.Integer(dump_only=True)
    station_id = fields.Integer(dump_only=True)
    name = fields.String(validate=validate.Length(min=1, max=100))
    description = fields.String(validate=validate.Length(max=4000))
    image_url = fields.String(allow_none=True, validate=validate.Length(max=500))
    price = fields.Integer(validate=validate.Range(min=1, max=10_000_000))
    currency = fields.String(validate=validate.Length(min=1, max=16))
    stock = fields.Integer(validate=validate.Range(min=0, max=1_000_000))
    per_member_limit = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=10_000))
    limit_period = fields.String(validate=choices(LimitPeriod))
    audience = fields.String(validate=choices(ItemAudience))
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


class StationListArgs(PageArgs):
    near = fields.String(metadata={"description": "lat,lng (GCJ-02): nearest first"})
    org_id = fields.Integer(validate=validate.Range(min=1))

    @validates_schema
    def near_is_a_point(self, data: dict[str, Any], **_: Any) -> None:
        if "near" in data:
            try:
                lat, lng = (float(part) for part in data["near"].split(","))
            except ValueError:
                raise ValidationError("give near as lat,lng", "near") from None
            if not (-90 <= lat <= 90 and -180 <= lng <= 180):
                raise ValidationError("not a point on Earth", "near")


class StationRedemptionArgs(PageArgs):
    status = fields.String(validate=choices(RedemptionStatus))


class StationRedemptionSchema(RedemptionSchema):
    class Meta:
        exclude = ("pickup_code", "qr_payload")

    user_id = fields.Integer(attribute="redemption.user_id")
    fulfilled_by_id = fields.Integer(attribute="redemption.fulfilled_by_id", allow_none=True)


class StockChangeSchema(Schema):
    delta = fields.Integer(
        required=True,
        validate=validate.Range(min=-1_000_000, max=1_000_000),
        metadata={"description": "+ delivered in, − written off"},
    )
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500))


class StockMovementSchema(Schema):
    id = fields.Integer()
    item_id = fields.Integer()
    delta = fields.Integer()
    reason = fields.String()
    actor_id = fields.Integer()
    stock_after = fields.Integer()
    created_at = fields.DateTime()


class PickupSchema(Schema):
    pickup_code = fields.String(validate=validate.Length(min=1, max=20))
    qr_payload = fields.String(
        validate=validate.Length(min=1, max=100), metadata={"description": "instead of the code"}
    )


class PickupResultSchema(Schema):
    redemption = fields.Nested(RedemptionSchema, required=True)
    status = fields.String(required=True)


class ReportArgs(Schema):
    start = fields.AwareDateTime(data_key="from", required=True)
    end = fields.AwareDateTime(data_key="to", required=True)
    format = fields.String(load_default=ReportFormat.CSV.value, validate=choices(ReportFormat))


@blp.route("/stations")
class Stations(MethodView):
    @blp.arguments(StationListArgs, location="query")
    @blp.response(200, page_schema(StationSchema, "StationPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Stations open to you, nearest first with `near=lat,lng`."""
        near = tuple(float(p) for p in args["near"].split(",")) if "near" in args else None
        offset = int_cursor(args["cursor"])
        rows = list_stations(
            extensions.session(),
            current_actor(),
            near=near,  # type: ignore[arg-type]
            org_id=args.get("org_id"),
            limit=args["limit"] + 1,
            offset=offset,
        )
        return offset_page(rows, args["limit"], offset)

    @blp.arguments(NewStationSchema)
    @blp.response(201, StationSchema)
    def post(self, spec: StationFields) -> StationView:
        """Open a station at a place (admin). Clerks are granted with
        `POST /users/{id}/grants {role: clerk, scope_type: station, scope_id}`."""
        return create_station(extensions.unit_of_work(), current_actor(), spec)


@blp.route("/stations/<int:station_id>")
class OneStation(MethodView):
    @blp.response(200, StationSchema)
    def get(self, station_id: int) -> StationView:
        session = extensions.session()
        return view(session, get_station(session, current_actor(), station_id))

    @blp.arguments(StationInSchema)
    @blp.response(200, StationSchema)
    def patch(self, spec: StationFields, station_id: int) -> StationView:
        """Change a station (admin); `active: false` closes it to redemptions."""
        return update_station(extensions.unit_of_work(), current_actor(), station_id, spec)


@blp.route("/stations/<int:station_id>/items")
class Items(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(ItemSchema, "ItemPage"))
    def get(self, args: dict[str, Any], station_id: int) -> dict[str, Any]:
        """A station's goods (those who run it see inactive ones too)."""
        offset = int_cursor(args["cursor"])
        rows = list_items(
            extensions.session(),
            current_actor(),
            station_id,
            limit=args["limit"] + 1,
            offset=offset,
        )
        return offset_page(rows, args["limit"], offset)

    @blp.arguments(NewItemSchema)
    @blp.response(201, ItemSchema)
    def post(self, spec: ItemFields, station_id: int) -> Any:
        """Add goods to a station's catalogue (staff of its place, admin)."""
        return create_item(extensions.unit_of_work(), current_actor(), station_id, spec)


@blp.route("/items/<int:item_id>")
class OneItem(MethodView):
    @blp.arguments(ItemSchema)
    @blp.response(200, ItemSchema)
    def patch(self, spec: ItemFields, item_id: int) -> Any:
        """Change an item's price, limits, window or description (not its stock)."""
        return update_item(extensions.unit_of_work(), current_actor(), item_id, spec)


@blp.route("/items/<int:item_id>/stock")
class Stock(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(StockMovementSchema, "StockMovementPage"))
    def get(self, args: dict[str, Any], item_id: int) -> dict[str, Any]:
        """Deliveries and write-offs of an item, newest first."""
        rows = movements(
            extensions.session(),
            current_actor(),
            item_id,
            limit=args["limit"] + 1,
            before_id=int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda row: row.id)

    @blp.arguments(StockChangeSchema)
    @blp.response(201, StockMovementSchema)
    def post(self, body: dict[str, Any], item_id: int) -> Any:
        """A delivery in or a write-off, with the reason (clerks, staff, admin)."""
        return adjust_stock(
            extensions.unit_of_work(), current_actor(), item_id, body["delta"], body["reason"]
        )


@blp.route("/stations/<int:station_id>/pickups")
class Pickups(MethodView):
    @blp.arguments(PickupSchema)
    @blp.response(200, PickupResultSchema)
    @blp.doc(parameters=[HEADER_DOC])
    def post(self, body: dict[str, Any], station_id: int) -> Response:
        """Hand goods over against a pickup code (or the signed QR), clerks of this
        station only: 404 for another station's code, 409 pickup_code_used. With an
        Idempotency-Key, a retry after a lost response gets the first answer."""
        actor, now, rules = current_actor(), utcnow(), policy()
        return once(
            actor,
            body,
            lambda session: hand_over(
                session,
                actor,
                station_id,
                pickup_code=body.get("pickup_code"),
                qr_payload=body.get("qr_payload"),
                now=now,
                policy=rules,
            ),
            lambda done: PickupResultSchema().dump(
                {"redemption": done, "status": done.redemption.status}
            ),
            status=200,
        )


@blp.route("/stations/<int:station_id>/redemptions")
class StationRedemptions(MethodView):
    @blp.arguments(StationRedemptionArgs, location="query")
    @blp.response(200, page_schema(StationRedemptionSchema, "StationRedemptionPage"))
    def get(self, args: dict[str, Any], station_id: int) -> dict[str, Any]:
        """The station's redemptions, newest first (`status=held`: waiting for pickup);
        for its clerks (and admins). Codes are not shown."""
        rows = station_redemptions(
            extensions.session(),
            current_actor(),
            station_id,
            policy(),
            status=RedemptionStatus(args["status"]) if "status" in args else None,
            limit=args["limit"] + 1,
            before_id=int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda row: row.redemption.id)


@blp.route("/stations/<int:station_id>/report")
class Report(MethodView):
    @blp.arguments(ReportArgs, location="query")
    @blp.doc(responses={"200": {"description": "CSV or XLSX: per day and item, handed out"}})
    def get(self, args: dict[str, Any], station_id: int) -> Response:
        """What the station handed out in [from, to), per day (Beijing time) and item."""
        report = station_report(
            extensions.session(),
            current_actor(),
            station_id,
            args["start"],
            args["end"],
            ReportFormat(args["format"]),
        )
        return Response(
            report.content,
            mimetype=report.mimetype,
            headers={"Content-Disposition": f'attachment; filename="{report.filename}"'},
        )
