"""One use case, one transaction."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session


class UnitOfWork:
    """Wraps the session of one use case: nothing is kept unless ``commit()`` is called.

    The caller owns the session's lifetime (the web edge closes it at the end of the
    request); the unit of work owns the transaction.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

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
