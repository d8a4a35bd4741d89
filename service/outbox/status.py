"""What an operator asks of the outbox: what waits, of which kind, since when; and
putting given-up messages back in line once the cause is fixed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.db import rows_changed
from service.outbox.models import OUTBOX_TABLE, OutboxMessage


@dataclass(frozen=True, slots=True)
class KindStatus:
    kind: str
    waiting: int  # not handled yet, still tried
    given_up: int  # failed too often: wait for `lianxin outbox retry`
    oldest: datetime | None  # when the oldest of those was written
    last_error: str | None  # the newest failure's reason, if any


def status(session: Session) -> list[KindStatus]:
    """Each kind with messages not handled, in kind order."""
    rows = session.execute(
        select(
            OutboxMessage.kind,
            func.count().filter(OutboxMessage.failed_at.is_(None)),
            func.count().filter(OutboxMessage.failed_at.is_not(None)),
            func.min(OutboxMessage.created_at),
            func.max(OutboxMessage.id).filter(OutboxMessage.last_error.is_not(None)),
        )
        .where(OutboxMessage.handled_at.is_(None))
        .group_by(OutboxMessage.kind)
        .order_by(OutboxMessage.kind)
    ).all()
    errors = dict(
        session.execute(
            select(OutboxMessage.id, OutboxMessage.last_error).where(
                OutboxMessage.id.in_([row[4] for row in rows if row[4] is not None])
            )
        ).all()
    )
    session.rollback()  # a read of its own: hold no snapshot open
    return [
        KindStatus(kind, waiting, given_up, oldest, errors.get(newest_error))
        for kind, waiting, given_up, oldest, newest_error in rows
    ]


def oldest_waiting(session: Session) -> datetime | None:
    """When the oldest message not handled yet was written (given up ones included:
    they are the ones an operator must hear of)."""
    oldest = session.scalar(
        select(func.min(OutboxMessage.created_at)).where(OutboxMessage.handled_at.is_(None))
    )
    session.rollback()
    return oldest


def retry_given_up(session: Session, *, now: datetime, kind: str | None = None) -> int:
    """Put given-up messages (of ``kind``, or all) back in line, due now, with their
    attempts counted afresh; returns how many."""
    statement = (
        update(OUTBOX_TABLE)
        .where(OUTBOX_TABLE.c.handled_at.is_(None), OUTBOX_TABLE.c.failed_at.is_not(None))
        .values(failed_at=None, attempts=0, due_at=now)
    )
    if kind is not None:
        statement = statement.where(OUTBOX_TABLE.c.kind == kind)
    count = rows_changed(session.execute(statement))
    session.commit()
    return count
