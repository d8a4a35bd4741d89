"""One error format for the whole API: domain errors, HTTP errors, validation, crashes.

``{"code": "<slug>", "message": "<text>", "errors": {...}, "request_id": "..."}``

The handlers are the app's, because a URL that matches no route (a 404 or 405) reaches
no blueprint's; each answers only the API's requests (api/boundary.py) and leaves any
other entrypoint's errors to that entrypoint's own handlers or Flask's defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Flask, Response, abort, jsonify, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from api import boundary
from api.observability import current_request_id
from points.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger("lianxin.errors")

E = TypeVar("E", bound=Exception)

# The one table from domain error to HTTP status. Subclasses inherit their base's row.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Unauthenticated: 401,
    RateLimited: 429,
    Unavailable: 503,
    TooLarge: 413,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_response(
    status: int,
    code: str,
    message: str,
    errors: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[Response, int]:
    body = {
        "code": code,
        "message": message,
        "errors": dict(errors or {}),
        "request_id": current_request_id(),
    }
    response = jsonify(body)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response, status


def status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in DOMAIN_STATUS:
            return DOMAIN_STATUS[kind]
    return 400


def handle_domain_error(error: DomainError) -> tuple[Response, int]:
    return error_response(status_of(error), error.code, error.message, error.errors)


def field_errors(data: Mapping[str, Any]) -> dict[str, Any]:
    """webargs reports errors per location ({"json": {"title": [...]}}); clients want
    them per field."""
    messages = data.get("errors") or data.get("messages") or {}
    merged: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, Mapping):
            merged.update(fields)
        else:
            merged[location] = fields
    return merged


def handle_http_error(error: HTTPException) -> tuple[Response, int]:
    status = error.code or 500
    data: Mapping[str, Any] = getattr(error, "data", None) or {}
    errors = field_errors(data)
    # An edge that knows better names the error itself (invalid_json, say).
    code = data.get("code") or HTTP_CODES.get(status, "http_error")
    message = data.get("message") or error.description or error.name
    if status == 422 and errors and not data.get("message"):
        message = "The request has invalid fields; see errors."
    headers = dict(data.get("headers") or {})
    if error.response is not None:
        # Errors that carry their own response keep its headers.
        headers.update(
            {k: v for k, v in error.response.headers.items() if k.startswith(("X-", "Retry"))}
        )
    return error_response(status, code, str(message), errors, headers)


def handle_out_of_range(error: Exception) -> tuple[Response, int]:
    """A number (an id in a body, say) beyond what the database stores: bad input, and
    the failed statement has rolled the use case back."""
    log.info("value out of range for the database: %s", error)
    return error_response(
        422, "out_of_range", "A number in the request is out of range for what it names."
    )


def handle_unexpected(error: Exception) -> tuple[Response, int]:
    log.exception("unhandled error")
    return error_response(500, "internal_error", "Something went wrong on our side; it was logged.")


def for_the_api(
    handler: Callable[[E], tuple[Response, int]],
) -> Callable[[E], tuple[Response, int] | HTTPException]:
    def answer(error: E) -> tuple[Response, int] | HTTPException:
        if boundary.is_api_request():
            return handler(error)
        if isinstance(error, HTTPException):
            return error  # Flask renders its own page for it
        # Unhandled, as if no handler were registered: logged, then Flask's plain 500.
        raise error

    return answer


answer_http_error = for_the_api(handle_http_error)


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, for_the_api(handle_domain_error))
    app.register_error_handler(HTTPException, answer_http_error)
    app.register_error_handler(Exception, for_the_api(handle_unexpected))
    # SQLite can't bind an int over 64 bits; PostgreSQL refuses one over the column's type.
    app.register_error_handler(OverflowError, for_the_api(handle_out_of_range))
    app.register_error_handler(DataError, for_the_api(handle_out_of_range))

    @app.before_request
    def refuse_oversized_bodies() -> None:
        # Checked from the header up front, so every endpoint, of any entrypoint, refuses
        # a body it would have to read to reject; werkzeug still enforces the limit while
        # streaming.
        limit = app.config["MAX_CONTENT_LENGTH"]
        if request.content_length is not None and request.content_length > limit:
            abort(413, description=f"Request body over the {limit} byte limit.")
