"""People in the caller's scope, and their role grants."""

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
from points.access import Role, ScopeType
from service.people.admin import (
    PersonChanges,
    get_person,
    grant_role,
    list_people,
    revoke_grant,
    update_person,
)

blp = Blueprint("people", __name__, url_prefix="/api/v1/users", description="People in your scope")


class GrantSchema(Schema):
    id = WholeNumber(dump_only=True)
    role = Text(required=True, validate=validate.OneOf([r.value for r in Role]))
    scope_type = Text(required=True, validate=validate.OneOf([s.value for s in ScopeType]))
    scope_id = WholeNumber(required=True, validate=validate.Range(min=1))


class PersonSchema(Schema):
    id = WholeNumber(required=True)
    name = Text(required=True)
    phone_masked = Text(allow_none=True)
    residence_place_id = WholeNumber(allow_none=True)
    home_branch_id = WholeNumber(allow_none=True)
    active = fields.Boolean()
    leaderboard_banned = fields.Boolean()
    roles = fields.List(fields.Nested(GrantSchema), attribute="grants")
    created_at = fields.DateTime()


@blp.route("")
class People(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(PersonSchema, "PersonPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """People living in the places you look after (staff, admins)."""
        rows = list_people(
            extensions.session(),
            current_actor(),
            limit=args["limit"] + 1,
            after_id=int_cursor(args["cursor"]),
        )
        return page(rows, args["limit"], key=lambda user: user.id)


class PersonChangesSchema(Schema):
    name = Text(validate=validate.Length(min=1, max=32))
    residence_place_id = WholeNumber(validate=validate.Range(min=1))
    home_branch_id = WholeNumber(validate=validate.Range(min=1))
    active = fields.Boolean(metadata={"description": "false disables sign-in (admins only)"})
    leaderboard_banned = fields.Boolean(
        metadata={"description": "true takes the person off every leaderboard (staff)"}
    )


@blp.route("/<int:user_id>")
class Person(MethodView):
    @blp.response(200, PersonSchema)
    def get(self, user_id: int) -> Any:
        return get_person(extensions.session(), current_actor(), user_id)

    @blp.arguments(PersonChangesSchema)
    @blp.response(200, PersonSchema)
    def patch(self, body: dict[str, Any], user_id: int) -> Any:
        """Correct a person's name, move them to another place you look after, set their
        party branch, or (admins) disable their account."""
        return update_person(
            extensions.unit_of_work(), current_actor(), user_id, PersonChanges(**body)
        )


@blp.route("/<int:user_id>/grants")
class Grants(MethodView):
    @blp.arguments(GrantSchema)
    @blp.response(201, PersonSchema)
    def post(self, body: dict[str, Any], user_id: int) -> Any:
        """Give a role on a place, branch or department. Staff may give member, volunteer
        and resident in their community; other roles need an admin."""
        return grant_role(
            extensions.unit_of_work(),
            current_actor(),
            user_id,
            Role(body["role"]),
            ScopeType(body["scope_type"]),
            body["scope_id"],
        )


@blp.route("/<int:user_id>/grants/<int:grant_id>")
class OneGrant(MethodView):
    @blp.response(200, PersonSchema)
    def delete(self, user_id: int, grant_id: int) -> Any:
        return revoke_grant(extensions.unit_of_work(), current_actor(), user_id, grant_id)
