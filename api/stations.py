"""Stations (驿站) and their catalogues; stock, pickups and reports for those who run them."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from api import extensions
from api.authentication import current_actor
from api.idempotency import HEADER_DOC, once
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, offset_page, page, page_schema
from api.redemptions import policy
from api.station_schemas import (
    ItemSchema,
    NewItemSchema,
    NewStationSchema,
    PickupResultSchema,
    PickupSchema,
    ReportArgs,
    StationInSchema,
    StationListArgs,
    StationRedemptionArgs,
    StationRedemptionSchema,
    StationSchema,
    StockChangeSchema,
    StockMovementSchema,
)
from points.redemption import RedemptionStatus
from service.db import utcnow
from service.stations.catalogue import (
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
            place_id=args.get("org_id"),
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
