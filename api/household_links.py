"""Who lives in a household (住户) and which party member looks after it (党员联户),
and the coverage of those pairings: which paired households their member visited."""

from __future__ import annotations

from typing import Any

from flask import send_file
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.households import HouseholdSchema
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.text import Text
from points.calendar import local_date
from service.db import utcnow
from service.households.coverage import XLSX, coverage, coverage_workbook
from service.households.pairings import (
    end_pairing,
    my_pairings,
    pair_member,
    pairings_of,
)
from service.households.residents import add_resident, my_households, remove_resident, residents

blp = Blueprint(
    "household_links",
    __name__,
    url_prefix="/api/v1",
    description="Residents of households (住户) and 党员联户 pairings",
)


class ResidentSchema(Schema):
    id = WholeNumber(required=True)
    name = Text(allow_none=True)


class AddResidentSchema(Schema):
    user_id = WholeNumber(required=True, validate=validate.Range(min=1))


class HouseholdPairingSchema(Schema):
    id = WholeNumber(attribute="pairing.id", dump_only=True)
    household_id = WholeNumber(attribute="household.id", dump_only=True)
    household_label = Text(attribute="household.label", dump_only=True)
    member_id = WholeNumber(attribute="member.id", required=True, validate=validate.Range(min=1))
    member_name = Text(attribute="member.name", dump_only=True, allow_none=True)
    started_on = fields.Date(
        attribute="pairing.started_on",
        metadata={"description": "the first day (Beijing time); today if not given"},
    )
    ended_on = fields.Date(attribute="pairing.ended_on", dump_only=True, allow_none=True)


class EndHouseholdPairingSchema(Schema):
    ended_on = fields.Date(metadata={"description": "the last day; today if not given"})


class CoverageArgs(Schema):
    org_id = WholeNumber(required=True, validate=validate.Range(min=1))
    first = fields.Date(data_key="from", metadata={"description": "first day; the quarter's"})
    last = fields.Date(data_key="to", metadata={"description": "last day, included"})
    format = Text(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


class CoverageLineSchema(Schema):
    id = WholeNumber(required=True)
    name = Text(required=True)
    households = WholeNumber(required=True, metadata={"description": "paired households"})
    visited = WholeNumber(required=True, metadata={"description": "visited by their member"})
    not_visited = WholeNumber(required=True)
    rate = fields.Float(required=True, metadata={"description": "visited / households"})


class UnvisitedSchema(Schema):
    household_id = WholeNumber(required=True)
    label = Text(required=True)
    place_id = WholeNumber(required=True)
    place_name = Text(required=True)
    member_id = WholeNumber(required=True)
    member_name = Text(allow_none=True)
    last_visited_at = fields.DateTime(
        allow_none=True, metadata={"description": "by anyone, ever; null if never"}
    )


class CoverageSchema(Schema):
    org_id = WholeNumber(attribute="place.id", required=True)
    first_day = fields.Date(attribute="span.first", required=True)
    last_day = fields.Date(attribute="span.last", required=True)
    total = fields.Nested(CoverageLineSchema, required=True)
    grids = fields.List(fields.Nested(CoverageLineSchema), required=True)
    members = fields.List(fields.Nested(CoverageLineSchema), required=True)
    unvisited = fields.List(fields.Nested(UnvisitedSchema), required=True)


@blp.route("/households/<int:household_id>/residents")
class Residents(MethodView):
    @blp.response(200, ResidentSchema(many=True))
    def get(self, household_id: int) -> Any:
        """Who lives there, as staff of its place keep it."""
        return residents(extensions.session(), current_actor(), household_id)

    @blp.arguments(AddResidentSchema)
    @blp.response(201, ResidentSchema)
    def post(self, body: dict[str, Any], household_id: int) -> Any:
        """Link someone living in your scope to the household: deliveries ordered for it
        serve them, and they may rate the work that reached it."""
        return add_resident(
            extensions.unit_of_work(), current_actor(), household_id, body["user_id"]
        )


@blp.route("/households/<int:household_id>/residents/<int:user_id>")
class OneResident(MethodView):
    @blp.response(204)
    def delete(self, household_id: int, user_id: int) -> None:
        """They moved out."""
        remove_resident(extensions.unit_of_work(), current_actor(), household_id, user_id)


@blp.route("/households/<int:household_id>/pairings")
class Pairings(MethodView):
    @blp.response(200, HouseholdPairingSchema(many=True))
    def get(self, household_id: int) -> Any:
        """党员联户: the members who look after it, running pairings and ended ones."""
        return pairings_of(extensions.session(), current_actor(), household_id)

    @blp.arguments(HouseholdPairingSchema)
    @blp.response(201, HouseholdPairingSchema)
    def post(self, body: dict[str, Any], household_id: int) -> Any:
        """Pair a party member with the household, from a day (today if none)."""
        return pair_member(
            extensions.unit_of_work(),
            current_actor(),
            household_id,
            body["member"]["id"],
            utcnow(),
            started_on=body.get("pairing", {}).get("started_on"),
        )


@blp.route("/household-pairings/<int:pairing_id>/end")
class EndPairing(MethodView):
    @blp.arguments(EndHouseholdPairingSchema)
    @blp.response(200, HouseholdPairingSchema)
    def post(self, body: dict[str, Any], pairing_id: int) -> Any:
        """The member no longer looks after the household, from after this day."""
        return end_pairing(
            extensions.unit_of_work(),
            current_actor(),
            pairing_id,
            utcnow(),
            ended_on=body.get("ended_on"),
        )


@blp.route("/me/paired-households")
class MyPairedHouseholds(MethodView):
    @blp.response(200, HouseholdPairingSchema(many=True))
    def get(self) -> Any:
        """The households you look after today (党员联户)."""
        return my_pairings(extensions.session(), current_actor(), local_date(utcnow()))


@blp.route("/me/households")
class MyHouseholds(MethodView):
    @blp.response(200, HouseholdSchema(many=True))
    def get(self) -> Any:
        """The households you live in, as staff keep it: to order a delivery for."""
        return my_households(extensions.session(), current_actor())


@blp.route("/household-coverage")
class Coverage(MethodView):
    @blp.arguments(CoverageArgs, location="query")
    @blp.response(200, CoverageSchema)
    @blp.alt_response(200, description="with format=xlsx: the spreadsheet", content_type=XLSX)
    def get(self, args: dict[str, Any]) -> Any:
        """党员联户 coverage in a place's subtree over a period (this quarter unless
        from/to say otherwise): per grid and per member, the paired households and how
        many their member visited (confirmed visits), and the list of those not visited.
        Staff of the place; ?format=xlsx for the spreadsheet."""
        found = coverage(
            extensions.session(),
            current_actor(),
            args["org_id"],
            utcnow(),
            first=args.get("first"),
            last=args.get("last"),
        )
        if args["format"] == "xlsx":
            span = found.span
            return send_file(
                coverage_workbook(found),
                mimetype=XLSX,
                as_attachment=True,
                download_name=f"党员联户走访-{found.place.name}-{span.first}-{span.last}.xlsx",
            )
        return found
