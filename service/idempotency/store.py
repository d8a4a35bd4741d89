"""Run a request's work once per (caller, key) and replay its first response.

The claim row is inserted before the work, in the same transaction: a concurrent
duplicate blocks on the unique index until the first commits, then finds the stored
response and replays it. If the work fails, the transaction (claim included) rolls
back, so a retry after an error does the work afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.errors import InvalidInput
from service.db import rows_changed
from service.idempotency.models import IdempotencyRecord
from service.unit_of_work import UnitOfWork

T = TypeVar("T")
MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(InvalidInput):
    """The same key came with another request: a client bug, not a retry."""

    code = "idempotency_key_reused"


@dataclass(frozen=True)
class IdempotentRequest:
    actor_id: int
    key: str
    fingerprint: str


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    replayed: bool = False


def fingerprint(method: str, path: str, body: Any) -> str:
    """The same request, however its JSON was spaced or ordered, has one fingerprint."""
    canonical = json.dumps(
        [method.upper(), path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            "bad Idempotency-Key",
            errors={"Idempotency-Key": [f"1 to {MAX_KEY_LENGTH} printable ASCII characters"]},
        )
    return key


def _find(session: Session, request: IdempotentRequest) -> IdempotencyRecord | None:
    return session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.actor_id == request.actor_id, IdempotencyRecord.key == request.key
        )
    ).one_or_none()


def _replay(record: IdempotencyRecord, request: IdempotentRequest) -> StoredResponse:
    if record.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request; use a new key"
        )
    return StoredResponse(record.status_code, record.body, replayed=True)


def run_once(
    uow: UnitOfWork,
    request: IdempotentRequest | None,
    work: Callable[[Session], T],
    render: Callable[[T], StoredResponse],
) -> StoredResponse:
    """Do ``work`` and commit, returning ``render`` of its result; with a key already
    answered, return that answer instead and do nothing."""
    with uow:
        session = uow.session
        record = None
        if request is not None:
            # Insert first, look only on a clash: a new key (the usual case) costs no read.
            try:
                with session.begin_nested():
                    record = IdempotencyRecord(
                        actor_id=request.actor_id, key=request.key, fingerprint=request.fingerprint
                    )
                    session.add(record)
            except IntegrityError:
                found = _find(session, request)  # a retry, or a duplicate that won the race
                if found is None:
                    raise
                return _replay(found, request)
        response = render(work(session))
        if record is not None:
            record.status_code = response.status
            record.body = response.body
        uow.commit()
        return response


def forget_before(uow: UnitOfWork, before: datetime) -> int:
    """Drop stored responses older than ``before``: a client retries within minutes or
    hours, so keys kept for days only fill the table."""
    with uow:
        gone = rows_changed(
            uow.session.execute(
                delete(IdempotencyRecord)
                .where(IdempotencyRecord.created_at < before)
                .execution_options(synchronize_session=False)
            )
        )
        uow.commit()
        return gone
