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

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from points.errors import Conflict, InvalidInput
from service.db import rows_changed
from service.idempotency.models import RECORD_TABLE, IdempotencyRecord
from service.unit_of_work import UnitOfWork

T = TypeVar("T")
MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(InvalidInput):
    """The same key came with another request: a client bug, not a retry."""

    code = "idempotency_key_reused"


class IdempotencyKeyRequired(InvalidInput):
    """A request that is always a resend (an offline check-in) came without its key."""

    code = "idempotency_key_required"


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
        [method.upper(), path, body],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_as_sent,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _as_sent(value: object) -> str:
    # A loaded body holds datetimes; as the client wrote them, offset and all.
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not part of a JSON body: {value!r}")


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            "bad Idempotency-Key",
            errors={"Idempotency-Key": [f"1 to {MAX_KEY_LENGTH} printable ASCII characters"]},
        )
    return key


# Built once: every keyed request claims its key and stores its answer, and building a
# statement costs more than running it. Core rather than ORM: the record is never
# used as an object.
# A clash with the unique (actor, key) index inserts nothing and returns no id: a
# concurrent first request is waited for on the index, as with a plain INSERT.
_CLAIM = {
    "postgresql": postgresql.insert(RECORD_TABLE)
    .on_conflict_do_nothing()
    .returning(RECORD_TABLE.c.id),
    "sqlite": sqlite.insert(RECORD_TABLE).on_conflict_do_nothing().returning(RECORD_TABLE.c.id),
}
_FIND = select(RECORD_TABLE.c.fingerprint, RECORD_TABLE.c.status_code, RECORD_TABLE.c.body).where(
    RECORD_TABLE.c.actor_id == bindparam("actor_id"), RECORD_TABLE.c.key == bindparam("key")
)
_ANSWER = (
    update(RECORD_TABLE)
    .where(RECORD_TABLE.c.id == bindparam("record_id"))
    .values(
        status_code=bindparam("status", type_=RECORD_TABLE.c.status_code.type),
        body=bindparam("response", type_=RECORD_TABLE.c.body.type),
    )
)


def claim_key(session: Session, request: IdempotentRequest) -> int | StoredResponse:
    """The new record's id, or the stored answer when the key was used before. For a
    use case that runs its own unit of work (check-in); the rest use ``run_once``."""
    # Twice: a record purged (forget_before) between a clash and the look is gone,
    # and the key is then free to claim again.
    for _ in range(2):
        claimed: int | None = session.execute(
            _CLAIM[session.get_bind().dialect.name],
            {"actor_id": request.actor_id, "key": request.key, "fingerprint": request.fingerprint},
        ).scalar()
        if claimed is not None:
            return claimed
        stored = _stored(session, request)  # a retry, or a duplicate that won the race
        if stored is not None:
            return stored
    raise Conflict("this Idempotency-Key is busy; try again")


def _stored(session: Session, request: IdempotentRequest) -> StoredResponse | None:
    found = session.execute(_FIND, {"actor_id": request.actor_id, "key": request.key}).first()
    if found is None:
        return None
    if found.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request; use a new key"
        )
    return StoredResponse(found.status_code, found.body, replayed=True)


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
        record_id = None
        if request is not None:
            # Insert first, look only on a clash: a new key (the usual case) costs no read.
            claimed = claim_key(session, request)
            if isinstance(claimed, StoredResponse):
                return claimed
            record_id = claimed
        response = render(work(session))
        if record_id is not None:
            store_answer(session, record_id, response)
        uow.commit()
        return response


def store_answer(session: Session, record_id: int, response: StoredResponse) -> None:
    """Keep the answer to a claimed key, in the transaction of the work it answers."""
    session.execute(
        _ANSWER, {"record_id": record_id, "status": response.status, "response": response.body}
    )


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
