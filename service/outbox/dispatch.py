"""Handing outbox messages to their handlers: right after the writing transaction
commits, and by the sweeper for what that missed (a crash, a handler that failed).

Claiming is a conditional UPDATE of ``due_at`` (a lease), so two sweepers, or a
sweeper and the writer, never hand out the same message at once on either backend; a
claimer that dies lets its lease run out and the message is handed out again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from service.db import rows_changed, utcnow
from service.outbox.events import Durable
from service.outbox.models import OUTBOX_TABLE, OutboxMessage

log = logging.getLogger(__name__)

# A handler gets the events of its kind in the order they were recorded. It may use
# and commit the session; raising leaves the messages for a later try.
Handler = Callable[[Session, Sequence[Durable]], None]

# How long a writer or claimer has the message to itself before another may take it.
LEASE = timedelta(minutes=2)
# After a failure the next try waits RETRY_FIRST, doubling up to RETRY_MOST; after
# GIVE_UP_AFTER tries the message waits for an operator (`lianxin outbox retry`).
RETRY_FIRST = timedelta(seconds=30)
RETRY_MOST = timedelta(hours=1)
GIVE_UP_AFTER = 10


@dataclass(frozen=True, slots=True)
class Stored:
    id: int
    event: Durable


_INSERT = insert(OUTBOX_TABLE).returning(OUTBOX_TABLE.c.id, sort_by_parameter_order=True)


def write(session: Session, events: Sequence[Durable], now: datetime) -> list[Stored]:
    """The messages of ``events``, in the session's transaction, leased to the writer."""
    rows = [
        {
            "kind": event.kind,
            "payload": event.to_payload(),
            "created_at": now,
            "due_at": now + LEASE,
            "attempts": 1,
        }
        for event in events
    ]
    ids = session.execute(_INSERT, rows).scalars().all()
    return [Stored(id, event) for id, event in zip(ids, events, strict=True)]


@dataclass(frozen=True)
class SweepReport:
    handled: int = 0
    failed: int = 0  # tries that raised this sweep
    given_up: int = 0  # of those, messages that now wait for an operator


_WAITING = (OUTBOX_TABLE.c.handled_at.is_(None), OUTBOX_TABLE.c.failed_at.is_(None))

_CLAIM = (
    update(OUTBOX_TABLE)
    .where(
        OUTBOX_TABLE.c.id == bindparam("message_id"),
        OUTBOX_TABLE.c.due_at <= bindparam("now"),
        *_WAITING,
    )
    .values(due_at=bindparam("lease_until"), attempts=OUTBOX_TABLE.c.attempts + 1)
)

_HANDLED = (
    update(OUTBOX_TABLE)
    .where(OUTBOX_TABLE.c.id.in_(bindparam("message_ids", expanding=True)))
    .values(handled_at=bindparam("now"), last_error=None)
)


class Dispatcher:
    """The handlers of each kind of durable event, and the one way messages reach them."""

    def __init__(self, handlers: Mapping[type[Durable], Handler]) -> None:
        self._handlers = {kind.kind: (kind, handler) for kind, handler in handlers.items()}

    @property
    def kinds(self) -> list[str]:
        return sorted(self._handlers)

    def deliver(self, session: Session, stored: Sequence[Stored]) -> int:
        """Hand messages this process holds the lease on (it just wrote or claimed
        them) to their handlers, kind by kind; returns how many failed."""
        failed = 0
        by_kind: dict[str, list[Stored]] = {}
        for message in stored:
            by_kind.setdefault(message.event.kind, []).append(message)
        for kind, messages in by_kind.items():
            known = self._handlers.get(kind)
            if known is None:
                continue  # another process's kind: its sweeper hands it out
            _, handler = known
            try:
                handler(session, [message.event for message in messages])
            except Exception as error:  # any handler's failure is the retry's business
                session.rollback()
                log.warning(
                    "outbox: %d %s message(s) left to retry: %s", len(messages), kind, error
                )
                _note_failure(session, messages, error)
                failed += len(messages)
                continue
            session.execute(
                _HANDLED, {"message_ids": [message.id for message in messages], "now": utcnow()}
            )
            session.commit()
        return failed

    def sweep(self, session: Session, *, now: datetime, batch: int = 200) -> SweepReport:
        """Claim and hand out every waiting message of a known kind that is due, oldest
        first, in batches."""
        handled = failed = given_up = 0
        after = 0
        while True:
            rows = session.execute(
                select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.payload)
                .where(
                    *_WAITING,
                    OutboxMessage.due_at <= now,
                    OutboxMessage.kind.in_(self._handlers),
                    OutboxMessage.id > after,
                )
                .order_by(OutboxMessage.id)
                .limit(batch)
            ).all()
            session.rollback()  # a read of its own: hold no snapshot open
            if not rows:
                break
            after = rows[-1].id
            claimed = self._claim(session, [tuple(row) for row in rows], now)
            failures = self.deliver(session, claimed)
            failed += failures
            handled += len(claimed) - failures
            if failures:
                given_up += _count_given_up(session, [message.id for message in claimed])
        return SweepReport(handled, failed, given_up)

    def _claim(
        self, session: Session, rows: Iterable[tuple[int, str, dict[str, Any]]], now: datetime
    ) -> list[Stored]:
        claimed: list[Stored] = []
        lease_until = now + LEASE
        for id, kind, payload in rows:
            taken = session.execute(
                _CLAIM, {"message_id": id, "now": now, "lease_until": lease_until}
            )
            if rows_changed(taken):
                event_type, _ = self._handlers[kind]
                claimed.append(Stored(id, event_type.from_payload(payload)))
        session.commit()
        return claimed


def _note_failure(session: Session, messages: Sequence[Stored], error: Exception) -> None:
    """Back off (doubling per attempt), or give up after GIVE_UP_AFTER attempts."""
    now = utcnow()
    reason = f"{type(error).__name__}: {error}"[:2_000]
    ids = [message.id for message in messages]
    attempts = dict(
        session.execute(
            select(OutboxMessage.id, OutboxMessage.attempts).where(OutboxMessage.id.in_(ids))
        ).all()
    )
    for id in ids:
        tries = attempts.get(id, 1)
        wait = min(RETRY_FIRST * 2 ** max(tries - 1, 0), RETRY_MOST)
        values: dict[str, object] = {"last_error": reason, "due_at": now + wait}
        if tries >= GIVE_UP_AFTER:
            values["failed_at"] = now
            log.error("outbox: message %d given up after %d attempts: %s", id, tries, reason)
        session.execute(update(OUTBOX_TABLE).where(OUTBOX_TABLE.c.id == id).values(**values))
    session.commit()


def _count_given_up(session: Session, ids: Sequence[int]) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.failed_at.is_not(None))
    )
    session.rollback()
    return count or 0
