"""Writing a board afresh from the ledger, and bringing it up to the events committed
while it was written."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import islice

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from points.calendar import local_date
from points.leaderboard import (
    day_in,
    labels_of,
    member_of,
)
from service.db import utcnow
from service.leaderboards.boards import CHUNK, Board, Boards
from service.leaderboards.feed import apply_events
from service.leaderboards.store import SENTINEL, applied_key, rebuild_key
from service.leaderboards.totals import ordered_scores
from service.ledger.models import EarningEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """What a rebuild read from the ledger, and which outbox events that covered."""

    last_event_id: int
    unapplied: dict[str, list[tuple[int, date]]]  # currency → (event id, earned day)


def begin_snapshot(session: Session) -> Snapshot:
    """Start one consistent read: the scores and the outbox state must agree."""
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    last = session.scalar(select(func.max(EarningEvent.id))) or 0
    unapplied: dict[str, list[tuple[int, date]]] = {}
    for event_id, currency, earned_at in session.execute(
        select(EarningEvent.id, EarningEvent.currency, EarningEvent.earned_at).where(
            EarningEvent.applied_at.is_(None)
        )
    ):
        unapplied.setdefault(currency, []).append((event_id, local_date(earned_at)))
    return Snapshot(int(last), unapplied)


class BoardWriter:
    """Writes rebuilt boards: each into a copy, then swapped in with one RENAME, so
    readers see the old board or the new one, never a part of either. Many boards go
    in one pipeline (a rebuild writes thousands); each board's swap follows its copy
    in the pipeline's order."""

    def __init__(self, boards: Boards, snapshot: Snapshot, *, flush_at: int = 50_000) -> None:
        self.boards, self.snapshot, self.flush_at = boards, snapshot, flush_at
        self.pipe = boards.client.pipeline(transaction=False)
        self.pending = 0

    def add(self, board: Board, scores: Iterable[tuple[int, int]]) -> None:
        key = self.boards.key(board)
        copy = rebuild_key(key, uuid.uuid4().hex[:12])
        self.pipe.zadd(copy, {SENTINEL: 0})
        rows = iter(scores)
        while chunk := list(islice(rows, CHUNK)):
            self.pipe.zadd(copy, {member_of(user_id): score for user_id, score in chunk})
            self.pending += len(chunk)
        self.pipe.expire(copy, 3600)  # a crashed rebuild leaves nothing behind for long
        covered = [
            event_id
            for event_id, day in self.snapshot.unapplied.get(board.currency, [])
            if labels_of(day)[board.period] == board.label
        ]
        self.boards.scripts.swap(
            keys=[copy, key, applied_key(key)],
            args=[self.snapshot.last_event_id, *covered],
            client=self.pipe,
        )
        self.pending += 1
        if self.pending >= self.flush_at:
            self.flush()

    def flush(self) -> None:
        if len(self.pipe):
            self.pipe.execute()
        self.pending = 0


def write_board(
    boards: Boards, board: Board, scores: Iterable[tuple[int, int]], snapshot: Snapshot
) -> None:
    writer = BoardWriter(boards, snapshot)
    writer.add(board, scores)
    writer.flush()


def catch_up(session: Session, boards: Boards, snapshot: Snapshot, rebuilt: set[Board]) -> None:
    """Events committed after the snapshot reach the rebuilt boards once (their markers
    there were dropped by the swap), whether or not they had reached the old ones."""
    later = session.scalars(
        select(EarningEvent)
        .where(EarningEvent.id > snapshot.last_event_id)
        .order_by(EarningEvent.id)
    ).all()
    apply_events(session, boards, later, only=rebuilt, mark=False)
    session.commit()


def rebuild_board(session: Session, boards: Boards, board: Board) -> None:
    """One board from the ledger (a missing board found by the sweeper or a reader)."""
    snapshot = begin_snapshot(session)
    day = day_in(board.period, board.label, local_date(utcnow()))
    scores = ordered_scores(session, board.currency, board.scope, board.period, day)
    session.rollback()
    write_board(boards, board, scores, snapshot)
    catch_up(session, boards, snapshot, {board})
