"""Departments, party branches and pairings with communities."""

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
from service.organisation import admin

blp = Blueprint(
    "organisation",
    __name__,
    url_prefix="/api/v1",
    description="Departments (部门), party branches (党支部) and pairings (结对共建)",
)

NAME = validate.Length(min=1, max=100)


class DepartmentSchema(Schema):
    id = WholeNumber(required=True)
    name = Text(required=True, validate=NAME)


class DepartmentNameSchema(Schema):
    name = Text(required=True, validate=NAME)


class BranchSchema(Schema):
    id = WholeNumber(dump_only=True)
    name = Text(required=True, validate=NAME)
    department_id = WholeNumber(allow_none=True, validate=validate.Range(min=1))
    place_id = WholeNumber(allow_none=True, validate=validate.Range(min=1))


class PairingSchema(Schema):
    id = WholeNumber(dump_only=True)
    department_id = WholeNumber(required=True, validate=validate.Range(min=1))
    place_id = WholeNumber(required=True, validate=validate.Range(min=1))
    started_on = fields.Date(required=True)
    ended_on = fields.Date(dump_only=True, allow_none=True)


class EndPairingSchema(Schema):
    ended_on = fields.Date(required=True)


class BranchListArgs(PageArgs):
    department_id = WholeNumber(validate=validate.Range(min=1))
    place_id = WholeNumber(validate=validate.Range(min=1))


class PairingListArgs(PageArgs):
    department_id = WholeNumber(validate=validate.Range(min=1))


def by_id(rows: list[Any], args: dict[str, Any]) -> dict[str, Any]:
    after = int_cursor(args["cursor"])
    later = [row for row in rows if row.id > after]
    return page(later[: args["limit"] + 1], args["limit"], key=lambda row: row.id)


@blp.route("/departments")
class Departments(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(DepartmentSchema, "DepartmentPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Government departments (readable by anyone signed in, for 双报到)."""
        rows = sorted(admin.list_departments(extensions.session()), key=lambda d: d.id)
        return by_id(rows, args)

    @blp.arguments(DepartmentNameSchema)
    @blp.response(201, DepartmentSchema)
    def post(self, body: dict[str, Any]) -> Any:
        return admin.create_department(extensions.unit_of_work(), current_actor(), body["name"])


@blp.route("/departments/<int:department_id>")
class OneDepartment(MethodView):
    @blp.arguments(DepartmentNameSchema)
    @blp.response(200, DepartmentSchema)
    def patch(self, body: dict[str, Any], department_id: int) -> Any:
        return admin.rename_department(
            extensions.unit_of_work(), current_actor(), department_id, body["name"]
        )


@blp.route("/branches")
class Branches(MethodView):
    @blp.arguments(BranchListArgs, location="query")
    @blp.response(200, page_schema(BranchSchema, "BranchPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        rows = admin.list_branches(
            extensions.session(),
            department_id=args.get("department_id"),
            place_id=args.get("place_id"),
        )
        return by_id(sorted(rows, key=lambda b: b.id), args)

    @blp.arguments(BranchSchema)
    @blp.response(201, BranchSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """A branch of a department, or of a place (give exactly one)."""
        return admin.create_branch(
            extensions.unit_of_work(),
            current_actor(),
            body["name"],
            department_id=body.get("department_id"),
            place_id=body.get("place_id"),
        )


@blp.route("/pairings")
class Pairings(MethodView):
    @blp.arguments(PairingListArgs, location="query")
    @blp.response(200, page_schema(PairingSchema, "PairingPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        rows = admin.list_pairings(extensions.session(), department_id=args.get("department_id"))
        return by_id(sorted(rows, key=lambda p: p.id), args)

    @blp.arguments(PairingSchema)
    @blp.response(201, PairingSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Pair a department with a community from a date (结对共建)."""
        return admin.pair_department(
            extensions.unit_of_work(),
            current_actor(),
            body["department_id"],
            body["place_id"],
            body["started_on"],
        )


@blp.route("/pairings/<int:pairing_id>/end")
class EndPairing(MethodView):
    @blp.arguments(EndPairingSchema)
    @blp.response(200, PairingSchema)
    def post(self, body: dict[str, Any], pairing_id: int) -> Any:
        return admin.end_pairing(
            extensions.unit_of_work(), current_actor(), pairing_id, body["ended_on"]
        )
