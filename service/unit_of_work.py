"""One use case, one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import TracebackType

from sqlalchemy.orm import Session
from sqlalchemy.util import immutabledict

from service.db import WRITE_LOCK, sqlite_transaction_wrote

log = logging.getLogger(__name__)

# Runs after a successful commit with the same session (e.g. telling the leaderboards
# what the transaction wrote). It must not undo or fail what was committed.
AfterCommit = Callable[[Session], None]


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
    """

    def __init__(self, session: Session, after_commit: Sequence[AfterCommit] = ()) -> None:
        self.session = session
        self.after_commit = tuple(after_commit)
        self._options_before: list[immutabledict[str, object]] = []

    def __enter__(self) -> UnitOfWork:
        session = self.session
        self._options_before.append(session.execution_options)
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
            session.execution_options = session.execution_options.union({WRITE_LOCK: True})
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
        if self._options_before:
            self.session.execution_options = self._options_before.pop()

    def commit(self) -> None:
        self.session.commit()
        for step in self.after_commit:
            try:
                step(self.session)
            except Exception:  # the business transaction has committed; it stays done
                log.exception("after-commit step %r failed", step)
                self.session.rollback()
