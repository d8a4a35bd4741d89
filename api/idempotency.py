"""The ``Idempotency-Key`` header on money-moving POSTs: a retry with the same key and
body gets the first response; the same key with another body is 422.

A view passes its loaded body and its work to ``once``; the first response to a key
is stored with the work, in one transaction, and every retry gets it back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, jsonify, request
from sqlalchemy.orm import Session

from api import extensions
from points.access import Actor
from service.idempotency.store import (
    IdempotencyKeyRequired,
    IdempotentRequest,
    StoredResponse,
    check_key,
    fingerprint,
    run_once,
)

T = TypeVar("T")
HEADER = "Idempotency-Key"

HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "A retry with the same key and body returns the first response; "
    "the same key with another body is 422 idempotency_key_reused.",
}


def keyed_request(
    user_id: int, body: dict[str, Any], *, required: str | None = None
) -> IdempotentRequest | None:
    """The request's key claim, if it has a key; ``required`` says why one must come
    (422 idempotency_key_required without it)."""
    raw = request.headers.get(HEADER)
    if raw is None:
        if required is not None:
            raise IdempotencyKeyRequired(
                f"{required} needs an {HEADER} header",
                errors={HEADER: ["required: " + required]},
            )
        return None
    return IdempotentRequest(
        actor_id=user_id,
        key=check_key(raw),
        fingerprint=fingerprint(request.method, request.path, body),
    )


def respond(stored: StoredResponse) -> Response:
    response = jsonify(stored.body)
    response.status_code = stored.status
    return response


def once(
    actor: Actor,
    body: dict[str, Any],
    work: Callable[[Session], T],
    render: Callable[[T], Any],
    status: int = 201,
    *,
    required: str | None = None,
) -> Response:
    return respond(
        run_once(
            extensions.unit_of_work(),
            keyed_request(actor.user_id, body, required=required),
            work,
            lambda result: StoredResponse(status, render(result)),
        )
    )
