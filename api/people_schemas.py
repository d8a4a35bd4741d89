"""How people look on the wire."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from api.numbers import WholeNumber
from api.text import Text, VerbatimText


class MeSchema(Schema):
    id = WholeNumber(required=True)
    name = Text(required=True)
    avatar_url = Text(allow_none=True)
    phone_masked = Text(allow_none=True, metadata={"example": "138****1234"})
    residence_place_id = WholeNumber(allow_none=True)
    home_branch_id = WholeNumber(allow_none=True)
    roles = fields.Method("dump_roles")
    privacy_policy_version = Text(allow_none=True)
    privacy_consented_at = fields.DateTime(allow_none=True)
    hide_from_leaderboards = fields.Boolean(attribute="leaderboard_opt_out")
    created_at = fields.DateTime()

    def dump_roles(self, user: Any) -> list[dict[str, Any]]:
        return [
            {"role": g.role, "scope_type": g.scope_type, "scope_id": g.scope_id}
            for g in user.grants
        ]


class TokensSchema(Schema):
    access_token = VerbatimText(required=True)
    refresh_token = VerbatimText(required=True)
    expires_in = WholeNumber(required=True, metadata={"description": "seconds"})
    token_type = fields.Constant("Bearer")
    user = fields.Nested(MeSchema, required=True)


class ProfileChangesSchema(Schema):
    """What a person may change about themselves. Anything else (roles, points,
    scope, ids) is refused with 422 rather than silently ignored."""

    name = Text(validate=validate.Length(min=1, max=32))
    avatar_url = Text(
        validate=[validate.URL(schemes={"https"}), validate.Length(max=512)],
        metadata={"format": "url"},
    )
    privacy_policy_version = Text(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the privacy policy version the person consents to"},
    )
    residence_place_id = WholeNumber(
        validate=validate.Range(min=1),
        metadata={"description": "chosen once; later moves are made by staff"},
    )
    hide_from_leaderboards = fields.Boolean(
        metadata={"description": "true: leave me off every leaderboard (others close up)"}
    )
