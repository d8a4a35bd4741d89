"""Resident demands and problem reports (居民诉求 / 问题上报)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.ledger import TransferSchema
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, offset_page, page, page_schema
from api.text import MultilineText, Text
from api.uploads import photo_links
from points.demands import DemandStatus
from points.rules import Category
from service.db import utcnow
from service.demands.handling import (
    Decided,
    DemandFilter,
    NewDemand,
    accept_demand,
    close_demand,
    decline_demand,
    get_demand,
    list_demands,
    my_demands,
    report_demand,
    resolve_demand,
)
from service.demands.models import Demand

blp = Blueprint("demands", __name__, url_prefix="/api/v1", description="Demands (居民诉求)")


class DemandSchema(Schema):
    id = WholeNumber(dump_only=True)
    category = Text(
        required=True,
        validate=validate.OneOf([c.value for c in Category]),
        metadata={"description": "one of the eight 八微"},
    )
    description = MultilineText(required=True, validate=validate.Length(min=2, max=2000))
    org_id = WholeNumber(attribute="place_id", required=True, validate=validate.Range(min=1))
    address = Text(load_default="", validate=validate.Length(max=200))
    upload_ids = fields.List(
        WholeNumber(validate=validate.Range(min=1)),
        load_default=list,
        validate=validate.Length(max=9),
        metadata={"description": "photos, from POST /uploads"},
    )
    photos = fields.Method(
        "dump_photos",
        dump_only=True,
        metadata={"description": "upload_ids as links valid for an hour"},
    )
    reporter_id = WholeNumber(dump_only=True)
    status = Text(dump_only=True, metadata={"enum": [s.value for s in DemandStatus]})
    accepted_at = fields.DateTime(dump_only=True, allow_none=True)
    decline_reason = Text(dump_only=True, allow_none=True)
    resolution = MultilineText(dump_only=True, allow_none=True)
    resolved_at = fields.DateTime(dump_only=True, allow_none=True)
    closed_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)

    def dump_photos(self, demand: Demand) -> list[dict[str, Any]]:
        return photo_links(demand.upload_ids or ())


class DemandListArgs(PageArgs):
    status = Text(validate=validate.OneOf([s.value for s in DemandStatus]))
    org_id = WholeNumber(validate=validate.Range(min=1))


class DeclineSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=2, max=500))


class ResolveSchema(Schema):
    resolution = MultilineText(required=True, validate=validate.Length(min=2, max=2000))


class DecidedSchema(Schema):
    demand = fields.Nested(DemandSchema, required=True)
    transfers = fields.Method("dump_transfers")

    def dump_transfers(self, decided: Decided) -> list[dict[str, Any]]:
        views = [{"transfer": t, "direction": "in"} for t in decided.transfers]
        return TransferSchema(many=True).dump(views)  # type: ignore[no-any-return]


@blp.route("/demands")
class Demands(MethodView):
    @blp.arguments(DemandListArgs, location="query")
    @blp.response(200, page_schema(DemandSchema, "DemandPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Demands in the places you handle, oldest first."""
        offset = int_cursor(args["cursor"])
        status = args.get("status")
        wanted = DemandFilter(
            status=DemandStatus(status) if status else None, place_id=args.get("org_id")
        )
        rows = list_demands(
            extensions.session(), current_actor(), wanted, args["limit"] + 1, offset
        )
        return offset_page(rows, args["limit"], offset)

    @blp.arguments(DemandSchema)
    @blp.response(201, DemandSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Send in a demand or report a problem where you live. An accepted report earns
        points by the rules."""
        spec = NewDemand(
            **{
                **body,
                "category": Category(body["category"]),
                "upload_ids": tuple(body["upload_ids"]),
            }
        )
        return report_demand(extensions.unit_of_work(), current_actor(), spec, utcnow())


@blp.route("/demands/<int:demand_id>")
class OneDemand(MethodView):
    @blp.response(200, DemandSchema)
    def get(self, demand_id: int) -> Any:
        """Your own demand, or one in the places you handle."""
        return get_demand(extensions.session(), current_actor(), demand_id)


@blp.route("/demands/<int:demand_id>/accept")
class Accept(MethodView):
    @blp.response(200, DecidedSchema)
    def post(self, demand_id: int) -> Decided:
        """Accept (立项): the reporter is credited by the rules, once. Not your own."""
        return accept_demand(extensions.unit_of_work(), current_actor(), demand_id, utcnow())


@blp.route("/demands/<int:demand_id>/decline")
class Decline(MethodView):
    @blp.arguments(DeclineSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        return decline_demand(
            extensions.unit_of_work(), current_actor(), demand_id, body["reason"], utcnow()
        )


@blp.route("/demands/<int:demand_id>/resolve")
class Resolve(MethodView):
    @blp.arguments(ResolveSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """Say what was done (反馈); the reporter sees it."""
        return resolve_demand(
            extensions.unit_of_work(), current_actor(), demand_id, body["resolution"], utcnow()
        )


@blp.route("/demands/<int:demand_id>/close")
class Close(MethodView):
    @blp.response(200, DemandSchema)
    def post(self, demand_id: int) -> Any:
        """Close (销号) an accepted or resolved demand."""
        return close_demand(extensions.unit_of_work(), current_actor(), demand_id, utcnow())


@blp.route("/me/demands")
class MyDemands(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(DemandSchema, "MyDemandPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Demands you sent in, newest first."""
        rows = my_demands(
            extensions.session(),
            current_actor(),
            args["limit"] + 1,
            int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda row: row.id)
