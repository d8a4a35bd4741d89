"""The sweeper: applies what the after-commit step missed (Redis down, a crash)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import telemetry
from service.db import utcnow
from service.leaderboards.boards import Boards
from service.leaderboards.feed import apply_events
from service.leaderboards.writing import rebuild_board
from service.ledger.models import EarningEvent
from service.outbox.status import oldest_waiting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    applied: int = 0
    rebuilt: int = 0
    left: int = 0  # still unapplied: a board that could not be rebuilt


def outbox_lag(session: Session, now: datetime) -> float:
    """Seconds the oldest earning not on the boards, or outbox message not handled, has
    waited (0 when none waits); reported to the metrics, where a growing lag says the
    worker or Redis is down, or a message was given up."""
    oldest_earning = session.scalar(
        select(func.min(EarningEvent.created_at)).where(EarningEvent.applied_at.is_(None))
    )
    session.rollback()  # a read of its own: hold no snapshot open
    waiting = [when for when in (oldest_earning, oldest_waiting(session)) if when is not None]
    return max(0.0, (now - min(waiting)).total_seconds()) if waiting else 0.0


def sweep(session: Session, boards: Boards, *, batch: int = 1_000) -> SweepReport:
    """Apply every outbox row not applied yet, oldest first, in batches; boards that
    are missing are rebuilt from the ledger on the way."""
    telemetry.outbox_lag(outbox_lag(session, utcnow()))
    applied = rebuilt = 0
    after = 0
    while True:
        events = session.scalars(
            select(EarningEvent)
            .where(EarningEvent.applied_at.is_(None), EarningEvent.id > after)
            .order_by(EarningEvent.id)
            .limit(batch)
        ).all()
        if not events:
            break
        low_water = events[0].id if after == 0 else 0
        missing = apply_events(session, boards, events, low_water=low_water)
        for board in sorted(missing, key=str):
            rebuild_board(session, boards, board)
            rebuilt += 1
        if missing:
            apply_events(session, boards, events)
        after = events[-1].id
        applied += len(events)
    left = session.scalar(
        select(func.count()).select_from(EarningEvent).where(EarningEvent.applied_at.is_(None))
    )
    session.commit()
    return SweepReport(applied=applied - int(left or 0), rebuilt=rebuilt, left=int(left or 0))
