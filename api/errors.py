"""One error format for everything: domain errors, HTTP errors, validation, crashes.

``{"code": "<slug>", "message": "<text>", "errors": {...}, "request_id": "..."}``
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, abort, jsonify, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

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
    code = HTTP_CODES.get(status, "http_error")
    message = data.get("message") or error.description or error.name
    if status == 422 and errors:
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


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
    # SQLite can't bind an int over 64 bits; PostgreSQL refuses one over the column's type.
    app.register_error_handler(OverflowError, handle_out_of_range)
    app.register_error_handler(DataError, handle_out_of_range)

    @app.before_request
    def refuse_oversized_bodies() -> None:
        # Checked from the header up front, so every endpoint refuses a body it would
        # have to read to reject; werkzeug still enforces the limit while streaming.
        limit = app.config["MAX_CONTENT_LENGTH"]
        if request.content_length is not None and request.content_length > limit:
            abort(413, description=f"Request body over the {limit} byte limit.")
