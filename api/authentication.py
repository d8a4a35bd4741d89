"""Every endpoint of the API needs a valid access token unless it is listed as public
here; other entrypoints (api/boundary.py) authenticate their own way."""

from __future__ import annotations

from flask import Flask, Request, Response, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from api import boundary, extensions
from points.access import Actor
from points.errors import Unauthenticated
from service.auth.current import Caller, caller_from_token
from service.auth.tokens import AccessClaims, read_access_token

# Blueprints anyone may call: sign-in itself, probes, and the API documents.
PUBLIC_BLUEPRINTS = frozenset(
    {
        "health",
        "health_v1",
        "api-docs",
        "swagger_ui_static",
        "public",  # 公示
        "certificate_verification",  # whoever holds a certificate's number
        "wechat_events",  # WeChat's message push, signed by WeChat (api/content.py)
    }
)
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


# Endpoints whose use case reads the caller's account in its own first query and
# confirms it there (service.auth.current.confirm_account), saving a query on the
# busiest writes. Only the token is checked before them; they get current_claims(),
# never current_actor(). Any other endpoint confirms the account before its handler.
CONFIRMED_BY_USE_CASE = frozenset({"participations.CheckIn"})


def is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or endpoint.partition(".")[0] in PUBLIC_BLUEPRINTS


def bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("sign in first: send Authorization: Bearer <access token>")
    return token.strip()


def current_caller() -> Caller:
    caller: Caller = g.caller  # AttributeError: an endpoint in CONFIRMED_BY_USE_CASE
    return caller


def current_claims() -> AccessClaims:
    """The verified token's claims; the account is not yet confirmed (see
    CONFIRMED_BY_USE_CASE)."""
    claims: AccessClaims = g.claims
    return claims


def current_actor() -> Actor:
    return current_caller().actor


class NoCookieSessionsForTheApi(SecureCookieSessionInterface):
    """The API authenticates by bearer token and keeps no cookie session: a signed cookie
    session would build a signing serializer and read the cookie every request, and a
    forged cookie must not be read at all. Other entrypoints keep Flask's signed cookie."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if boundary.owns_path(app, request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if self.is_null_session(session):
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = NoCookieSessionsForTheApi()

    @app.before_request
    def authenticate() -> None:
        # Unknown URLs fall through to a 404, not a 401 that would hint a route exists;
        # another entrypoint's pages authenticate their own way.
        endpoint = request.endpoint  # read once: each read goes through Flask's proxy
        if endpoint is None or not boundary.is_api_endpoint(app, endpoint):
            return
        if is_public(endpoint):
            return
        if endpoint in CONFIRMED_BY_USE_CASE:
            g.claims = read_access_token(extensions.settings().secret_key, bearer_token())
            return
        g.caller = caller_from_token(
            extensions.session(), extensions.settings().secret_key, bearer_token()
        )
