"""Every endpoint needs a valid access token unless it is listed as public here."""

from __future__ import annotations

from flask import Flask, g, request

from api import extensions
from points.errors import Unauthenticated
from service.access import Actor
from service.auth.current import Caller, caller_from_token

# Blueprints anyone may call: sign-in itself, probes, and the API documents.
PUBLIC_BLUEPRINTS = frozenset({"health", "health_v1", "api-docs", "swagger_ui_static"})
PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.WechatSignIn",
        "auth.PasswordSignIn",
        "auth.Refresh",
        # A photo link carries its own signature (points/uploads.py).
        "uploads.PhotoContent",
        # Public like the probes; nginx keeps it off the internet (deploy/nginx).
        "metrics.scrape",
    }
)


def is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or endpoint.partition(".")[0] in PUBLIC_BLUEPRINTS


def bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("sign in first: send Authorization: Bearer <access token>")
    return token.strip()


def current_caller() -> Caller:
    caller: Caller = g.caller
    return caller


def current_actor() -> Actor:
    return current_caller().actor


def init_app(app: Flask) -> None:
    @app.before_request
    def authenticate() -> None:
        # Unknown URLs fall through to a 404, not a 401 that would hint a route exists.
        if request.endpoint is None or is_public(request.endpoint):
            return
        g.caller = caller_from_token(
            extensions.session(), extensions.settings().secret_key, bearer_token()
        )
