"""Operations that take no body (logout, publish, approve, accept, confirm, cancel …)
refuse one rather than ignore it: a client that sends a note with an approval should
learn that the note went nowhere.

Sending no body, or the empty JSON object ``{}``, is what such an operation takes. A
body that is not JSON is 400 ``invalid_json``, as on every other operation; JSON that
says anything more is 422 ``unexpected_body``, each field named as unknown, as a body
schema refuses a field it doesn't know. Nothing is done either way.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest, HTTPException, UnprocessableEntity

from api import boundary
from api.openapi import MAX_JSON_DEPTH, json_depth_over

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Where flask-smorest documents a request body (an argument schema's location).
BODY_LOCATIONS = frozenset({"json", "form", "files", "json_or_form"})
_TAKES_BODY = "lianxin.takes_body"


def takes_body(app: Flask, endpoint: str, method: str) -> bool:
    """Whether the view declares a request body (``@blp.arguments`` in a body location)."""
    known: dict[tuple[str, str], bool] = app.extensions.setdefault(_TAKES_BODY, {})
    key = (endpoint, method)
    if key not in known:
        view = app.view_functions[endpoint]
        handler = getattr(getattr(view, "view_class", None), method.lower(), view)
        declared = getattr(handler, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        known[key] = any(parameter.get("in") in BODY_LOCATIONS for parameter in declared)
    return known[key]


def refuse_any_body(body: bytes) -> None:
    """Raise the error a body-less operation answers this body with, unless it is none."""
    if not body.strip():
        return
    try:
        if json_depth_over(body, MAX_JSON_DEPTH):
            raise ValueError("nested too deep")
        value: Any = json.loads(body)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError among them
        raise _refused(
            BadRequest, code="invalid_json", message="the body is not valid JSON"
        ) from None
    if value == {}:
        return
    raise _refused(
        UnprocessableEntity,
        code="unexpected_body",
        message="This operation takes no body; send none, or {}.",
        errors=(
            {str(key): ["Unknown field."] for key in value}
            if isinstance(value, dict)
            else {"_schema": ["This operation takes no body."]}
        ),
    )


def _refused(kind: type[HTTPException], **data: Any) -> HTTPException:
    error = kind()
    error.data = data  # type: ignore[attr-defined]  # read by api.errors, as webargs' are
    return error


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_a_body_where_none_is_taken() -> None:
        endpoint = request.endpoint
        if (
            request.method not in WRITES
            or endpoint is None
            or request.content_length == 0
            or not boundary.is_api_endpoint(app, endpoint)
            or takes_body(app, endpoint, request.method)
        ):
            return
        refuse_any_body(request.get_data(cache=True))
