"""The signed-in person's own profile."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.people_schemas import MeSchema, ProfileChangesSchema
from api.text import VerbatimText
from service.auth.phone_binding import bind_phone
from service.db import utcnow
from service.people.profile import ProfileChanges, own_user, update_profile

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="Your own profile")


class PhoneCodeSchema(Schema):
    code = VerbatimText(
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "the code from the getPhoneNumber button"},
    )


class PhoneBoundSchema(Schema):
    user = fields.Nested(MeSchema, required=True)
    linked_to_roster = fields.Boolean(
        required=True,
        metadata={
            "description": "true when the phone matched a person staff had loaded; "
            "use the new tokens from now on"
        },
    )
    access_token = VerbatimText()
    refresh_token = VerbatimText()
    expires_in = WholeNumber()


@blp.route("")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self) -> Any:
        """Who you are, with your roles and where they apply."""
        return own_user(extensions.unit_of_work(), current_actor())

    @blp.arguments(ProfileChangesSchema)
    @blp.response(200, MeSchema)
    def patch(self, body: dict[str, Any]) -> Any:
        """Change your name, avatar, privacy consent, or (once) where you live."""
        return update_profile(extensions.unit_of_work(), current_actor(), ProfileChanges(**body))


@blp.route("/phone")
class Phone(MethodView):
    @blp.arguments(PhoneCodeSchema)
    @blp.response(200, PhoneBoundSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Bind your phone number (WeChat getPhoneNumber); links you to the roster if staff
        loaded you already."""
        bound = bind_phone(
            extensions.unit_of_work(),
            current_actor(),
            extensions.wechat(),
            extensions.phone_vault(),
            extensions.settings().secret_key,
            body["code"],
            utcnow(),
        )
        answer: dict[str, Any] = {
            "user": bound.user,
            "linked_to_roster": bound.signed_in is not None,
        }
        if bound.signed_in is not None:
            answer.update(
                access_token=bound.signed_in.access_token,
                refresh_token=bound.signed_in.refresh_token,
                expires_in=bound.signed_in.expires_in,
            )
        return answer
