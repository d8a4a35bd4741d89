"""One use case, one transaction, and what others are told of it once it committed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.util import immutabledict

from service.db import WRITE_LOCK, sqlite_transaction_wrote, utcnow
from service.outbox.dispatch import Dispatcher, write
from service.outbox.events import Durable

log = logging.getLogger(__name__)

E = TypeVar("E")


class Consumer(Protocol):
    """Something told about units of work (the leaderboards are one): it may look at
    each flush, record events on the unit of work, and handle them after commit."""

    def noticed_flush(self, uow: UnitOfWork) -> None:
        """Called before each flush of the unit of work's session, while the pending
        changes are still in the session and the old values in the database."""

    def committed(self, session: Session, events: Sequence[object]) -> None:
        """Called after a successful commit with the events the transaction recorded
        (in order). It must not undo or fail what was committed: errors are logged."""


# The unit of work a session is in, for code deep in a use case (posting a transfer)
# that records an event without being handed the unit of work.
_ACTIVE = "lianxin.unit_of_work"
_PARTS = "lianxin.transaction_parts"

BeforeCommit = Callable[[Session], None]


@dataclass
class TransactionParts:
    """What lives exactly as long as a session's outermost transaction, inside a unit
    of work or not (a script may commit its session itself), and is forgotten when it
    commits or rolls back.

    ``caches``: facts a use case would otherwise read again and again (which account an
    id is, which accounts the transaction locked), by name. ``before_commit``: steps
    that must be the transaction's last statements, by name, run once in the order
    they were first asked for (the ledger's deferred account totals)."""

    caches: dict[str, dict[Any, Any]] = field(default_factory=dict)
    before_commit: dict[str, BeforeCommit] = field(default_factory=dict)


def transaction_parts(session: Session) -> TransactionParts:
    parts: TransactionParts | None = session.info.get(_PARTS)
    if parts is None:
        parts = session.info[_PARTS] = TransactionParts()
    return parts


def transaction_cache(session: Session, name: str) -> dict[Any, Any]:
    """The named cache of the session's current transaction (see TransactionParts)."""
    # transaction_parts inlined: posting asks a dozen times per transfer.
    parts: TransactionParts | None = session.info.get(_PARTS)
    if parts is None:
        parts = session.info[_PARTS] = TransactionParts()
    caches = parts.caches
    found = caches.get(name)
    if found is None:
        found = caches[name] = {}
    return found


def run_before_commit(session: Session, name: str, step: BeforeCommit) -> None:
    """Run ``step`` as the last thing before this transaction commits (once per name)."""
    transaction_parts(session).before_commit.setdefault(name, step)


class UnitOfWork:
    """Wraps the session of one use case: nothing is kept unless ``commit()`` is called.

    The caller owns the session's lifetime (the web edge closes it at the end of the
    request); the unit of work owns the transaction.

    A unit of work may write, so on SQLite each transaction it begins takes the write
    lock first (``BEGIN IMMEDIATE``): concurrent use cases then wait their turn, up to
    the busy timeout, instead of failing when another committed between their read and
    their write. A read-only transaction already open on the session (the caller's
    account, read before the request's use case) is ended first, so its snapshot can't
    be the stale one. PostgreSQL needs none of this: its row locks and conditional
    UPDATEs serialise the writers that meet.

    What lives as long as the transaction (caches, steps that must run last before
    COMMIT) is its ``TransactionParts``. Events a use case records (``record``) are
    kept with the transaction, or savepoint, they were recorded in: one that rolls back
    takes its events with it. After commit each consumer gets them all; they are
    forgotten then, or on rollback.

    Events that must outlive the process (``Durable`` ones) are also written to the
    outbox in the same transaction, just before it commits, and handed to their
    handlers by the ``dispatcher`` right after; what that misses, the sweeper hands out.
    """

    def __init__(
        self,
        session: Session,
        consumers: Sequence[Consumer] = (),
        dispatcher: Dispatcher | None = None,
        request_id: str | None = None,
    ) -> None:
        self.session = session
        self.consumers = tuple(consumers)
        self.dispatcher = dispatcher
        # The request this work answers (None from the CLI): the audit trail keeps it,
        # so an entry leads to the request's log lines.
        self.request_id = request_id
        self._options_before: list[immutabledict[str, object]] = []
        self._events: list[tuple[object, SessionTransaction | None]] = []

    @staticmethod
    def of(session: Session) -> UnitOfWork | None:
        """The unit of work ``session`` is in, if any."""
        active: UnitOfWork | None = session.info.get(_ACTIVE)
        return active

    def record(self, event: object) -> None:
        """Keep ``event`` for the consumers, if this transaction commits."""
        session = self.session
        self._events.append((event, session.get_nested_transaction() or session.get_transaction()))

    def recorded(self, kind: type[E]) -> list[E]:
        """The events of ``kind`` recorded so far and not rolled back."""
        return [event for event, _ in self._events if isinstance(event, kind)]

    def __enter__(self) -> UnitOfWork:
        session = self.session
        options = session.execution_options
        if session.get_bind().dialect.name == "sqlite" and not self._holds_write_lock():
            if session.in_transaction():
                if (
                    session.new
                    or session.dirty
                    or session.deleted
                    or sqlite_transaction_wrote(session.connection())
                ):
                    # Work done outside any unit of work: ending it would lose it.
                    raise RuntimeError("a unit of work began inside a transaction that wrote")
                session.rollback()  # only reads happened: end their snapshot
            session.execution_options = options.union({WRITE_LOCK: True})
        # Only once nothing can refuse to enter: __exit__ undoes these.
        self._options_before.append(options)
        if len(self._options_before) == 1:
            session.info[_ACTIVE] = self
        return self

    def _holds_write_lock(self) -> bool:
        transaction = self.session.get_transaction()
        if transaction is None:
            return False
        return bool(self.session.connection().get_execution_options().get(WRITE_LOCK))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # After a commit this is a no-op; otherwise it discards the use case's work.
        self.session.rollback()
        # Parts asked for before any statement began a transaction belong to none, so
        # ending one did not forget them.
        self.session.info.pop(_PARTS, None)
        self._events.clear()
        if self._options_before:
            self.session.execution_options = self._options_before.pop()
        if not self._options_before and self.session.info.get(_ACTIVE) is self:
            del self.session.info[_ACTIVE]

    def commit(self) -> None:
        session = self.session
        # Flushed first, so consumers record what the last changes mean (a member who
        # moved) before the outbox is written; commit's own flush then has nothing to do.
        session.flush()
        stored = []
        durable = [event for event, _ in self._events if isinstance(event, Durable)]
        if durable:
            stored = write(session, durable, utcnow())
        session.commit()
        events = [event for event, _ in self._events]
        self._events.clear()
        for consumer in self.consumers:
            try:
                consumer.committed(session, events)
            except Exception:  # the business transaction has committed; it stays done
                log.exception("after commit, %r failed", consumer)
                session.rollback()
        if stored and self.dispatcher is not None:
            try:
                self.dispatcher.deliver(session, stored)
            except Exception:  # the messages stay in the outbox for the sweeper
                log.exception("after commit, handing out the outbox failed")
                session.rollback()

    def _forget(self, rolled_back: SessionTransaction) -> None:
        self._events = [
            (event, transaction)
            for event, transaction in self._events
            if not _within(transaction, rolled_back)
        ]


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


# Registered once for every session (a listener per unit of work would cost each
# request the registration): they do something only for a session in a unit of work.
@event.listens_for(Session, "before_flush")
def _notice_flush(session: Session, flush_context: Any, instances: Any) -> None:
    uow = UnitOfWork.of(session)
    if uow is not None:
        for consumer in uow.consumers:
            consumer.noticed_flush(uow)


@event.listens_for(Session, "before_commit")
def _run_before_commit(session: Session) -> None:
    parts: TransactionParts | None = session.info.get(_PARTS)
    if parts is not None and parts.before_commit:
        steps = list(parts.before_commit.values())
        parts.before_commit.clear()
        for step in steps:
            step(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_transaction_parts(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PARTS, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    uow = UnitOfWork.of(session)
    if uow is not None and uow._events:
        uow._forget(previous_transaction)
