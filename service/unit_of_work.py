"""One use case, one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import TracebackType

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Runs after a successful commit with the same session (e.g. telling the leaderboards
# what the transaction wrote). It must not undo or fail what was committed.
AfterCommit = Callable[[Session], None]


class UnitOfWork:
    """Wraps the session of one use case: nothing is kept unless ``commit()`` is called.

    The caller owns the session's lifetime (the web edge closes it at the end of the
    request); the unit of work owns the transaction.
    """

    def __init__(self, session: Session, after_commit: Sequence[AfterCommit] = ()) -> None:
        self.session = session
        self.after_commit = tuple(after_commit)

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # After a commit this is a no-op; otherwise it discards the use case's work.
        self.session.rollback()

    def commit(self) -> None:
        self.session.commit()
        for step in self.after_commit:
            try:
                step(self.session)
            except Exception:  # the business transaction has committed; it stays done
                log.exception("after-commit step %r failed", step)
                self.session.rollback()
