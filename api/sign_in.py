"""Sign-in endpoints: WeChat, console password, token refresh, sign-out."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, validate

from api import extensions
from api.authentication import current_caller
from api.openapi import Blueprint
from api.people_schemas import TokensSchema
from api.text import Text, VerbatimText
from service.auth.sign_in import (
    SignedIn,
    refresh_tokens,
    sign_in_with_password,
    sign_in_with_wechat,
    sign_out,
)
from service.db import utcnow

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Signing in and out")


class WechatCodeSchema(Schema):
    code = VerbatimText(
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "the code from wx.login()"},
    )


class PasswordSchema(Schema):
    username = Text(required=True, validate=validate.Length(min=1, max=64))
    password = VerbatimText(required=True, validate=validate.Length(min=1, max=256))


class RefreshSchema(Schema):
    refresh_token = VerbatimText(required=True, validate=validate.Length(min=1, max=256))


def tokens(signed_in: SignedIn) -> dict[str, Any]:
    return {
        "access_token": signed_in.access_token,
        "refresh_token": signed_in.refresh_token,
        "expires_in": signed_in.expires_in,
        "user": signed_in.user,
    }


@blp.route("/wechat")
class WechatSignIn(MethodView):
    @blp.arguments(WechatCodeSchema)
    @blp.response(200, TokensSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Sign in with a wx.login() code; the first sign-in creates the account."""
        extensions.rate_limits_in_force().hit_sign_in_identity("sign-in code", body["code"])
        return tokens(
            sign_in_with_wechat(
                extensions.unit_of_work(),
                extensions.wechat(),
                extensions.settings().secret_key,
                body["code"],
                utcnow(),
            )
        )


@blp.route("/password")
class PasswordSignIn(MethodView):
    @blp.arguments(PasswordSchema)
    @blp.response(200, TokensSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Console sign-in for staff; locks for 15 minutes after 5 wrong passwords."""
        extensions.rate_limits_in_force().hit_sign_in_identity(
            "username", body["username"].strip().lower()
        )
        return tokens(
            sign_in_with_password(
                extensions.unit_of_work(),
                extensions.settings().secret_key,
                body["username"],
                body["password"],
                utcnow(),
            )
        )


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokensSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Trade a refresh token for new tokens; each refresh token works once."""
        return tokens(
            refresh_tokens(
                extensions.unit_of_work(),
                extensions.settings().secret_key,
                body["refresh_token"],
                utcnow(),
            )
        )


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self) -> None:
        """Sign out: this device's refresh tokens stop working, and so do access tokens."""
        caller = current_caller()
        sign_out(extensions.unit_of_work(), caller.actor.user_id, caller.family, utcnow())
