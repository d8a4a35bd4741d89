"""Applying the outbox to Redis: right after a commit, by the sweeper, and when a
board has to be rebuilt from the ledger.

A Redis failure here never reaches the business transaction: it has committed
already, its outbox rows stay unapplied, and the sweeper (``lianxin leaderboard
sync``, or the worker) applies them when Redis is back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Any, cast

import redis
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from points.calendar import local_date
from points.leaderboard import (
    Member,
    Period,
    Scope,
    board_key,
    day_in,
    labels_of,
    member_of,
    period_of,
    recent_labels,
)
from service import telemetry
from service.db import utcnow
from service.leaderboards.members import members
from service.leaderboards.moves import MemberMoved, notice_moved_members
from service.leaderboards.store import SENTINEL, Scripts, applied_key, rebuild_key, scripts
from service.leaderboards.totals import ordered_scores, stream_earnings
from service.ledger.earnings import OutboxRow, Written
from service.ledger.models import Currency, EarningEvent
from service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
CHUNK = 5_000  # members per ZADD while writing a rebuilt board


@dataclass(frozen=True)
class Board:
    currency: str
    scope: Scope
    label: str

    @property
    def period(self) -> Period:
        return period_of(self.label)


@dataclass
class Boards:
    """The Redis side of the leaderboards: one client, the key prefix, what to keep."""

    client: redis.Redis
    prefix: str
    keep_periods: int

    def __post_init__(self) -> None:
        self.scripts: Scripts = scripts(self.client)
        self._kept: tuple[date, dict[Period, set[str]]] | None = None

    def key(self, board: Board) -> str:
        return board_key(self.prefix, board.currency, board.scope, board.label)

    def kept_labels(self, today: date) -> dict[Period, set[str]]:
        # The same all day long: worked out once a day, not once an event.
        kept = self._kept
        if kept is None or kept[0] != today:
            kept = self._kept = (
                today,
                {p: set(recent_labels(p, today, self.keep_periods)) for p in Period},
            )
        return kept[1]


def boards_of_event(
    event: OutboxRow, scopes: Sequence[Scope], kept: dict[Period, set[str]]
) -> list[Board]:
    """The boards one event counts on; periods already pruned are left alone."""
    return [
        Board(event.currency, scope, label)
        for period, label in labels_of(local_date(event.earned_at)).items()
        if label in kept[period]
        for scope in scopes
    ]


def apply_events(
    session: Session,
    boards: Boards,
    events: Sequence[OutboxRow],
    *,
    low_water: int = 0,
    only: set[Board] | None = None,
    mark: bool = True,
    people: Mapping[int, Member] | None = None,
) -> set[Board]:
    """Count each event once on each of its boards and (``mark``) mark it applied.
    Returns the boards that don't exist in Redis: their events stay unapplied until
    those boards are rebuilt. Whose boards they are is read now, unless given: then
    the database is touched only to mark what was applied."""
    if not events:
        return set()
    if people is None:
        # Resolved when applied (not when written), so a hidden member is never put
        # back by a late event.
        people = members(session, {event.user_id for event in events})
    kept = boards.kept_labels(local_date(utcnow()))
    calls: list[tuple[OutboxRow, Board]] = []
    for event in events:
        member = people.get(event.user_id)
        if member is None or member.hidden:
            continue  # hidden people are on no board; showing them again rebuilds theirs
        for board in boards_of_event(event, member.scopes, kept):
            if only is None or board in only:
                calls.append((event, board))
    results = _run_apply(boards, calls, low_water) if calls else []
    missing = {board for (_, board), result in zip(calls, results, strict=True) if result == -1}
    if mark:
        waiting = {event.id for (event, board) in calls if board in missing}
        applied = [event.id for event in events if event.id not in waiting]
        if applied or session.in_transaction():
            mark_applied(session, applied)
    return missing


def _run_apply(boards: Boards, calls: list[tuple[OutboxRow, Board]], low_water: int) -> list[Any]:
    """One pipeline of APPLY calls by the script's SHA, without asking Redis first
    whether it knows the script (a round trip each time): a Redis that doesn't (it
    restarted) refuses the first call, and the calls run again by the registered
    script, which loads it. Applying an event twice counts it once."""
    pipe = boards.client.pipeline(transaction=False)
    sha = boards.scripts.apply.sha
    for event, board in calls:
        key = boards.key(board)
        args = (event.id, member_of(event.user_id), event.delta, low_water)
        pipe.evalsha(sha, 2, key, applied_key(key), *args)
    try:
        return pipe.execute()
    except redis.exceptions.NoScriptError:
        pass
    pipe = boards.client.pipeline(transaction=False)
    for event, board in calls:
        key = boards.key(board)
        boards.scripts.apply(
            keys=[key, applied_key(key)],
            args=[event.id, member_of(event.user_id), event.delta, low_water],
            client=pipe,
        )
    return pipe.execute()


_OUTBOX = cast(Table, EarningEvent.__table__)
_MARK_APPLIED = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("event_ids", expanding=True)))
    .values(applied_at=bindparam("now"))
)


def mark_applied(session: Session, event_ids: Sequence[int]) -> None:
    now = utcnow()
    for start in range(0, len(event_ids), 1_000):
        session.execute(_MARK_APPLIED, {"event_ids": event_ids[start : start + 1_000], "now": now})
    session.commit()


def apply_written(session: Session, boards: Boards, written: Iterable[Written]) -> None:
    """The unit of work's after-commit step: apply what the transaction wrote. Missing
    boards wait for the worker; any failure leaves the rows for the sweeper."""
    # Rows a rolled-back transaction wrote were forgotten with it by the unit of work.
    events = sorted(written, key=lambda event: event.id)
    if not events:
        return
    people = {event.user_id: event.member for event in events}
    try:
        apply_events(session, boards, events, people=people)
    except (redis.RedisError, SQLAlchemyError, OSError) as error:
        session.rollback()
        log.warning("leaderboards: %d event(s) left for the sweeper: %s", len(events), error)


def refresh_members(session: Session, boards: Boards, before: dict[int, tuple[Scope, ...]]) -> None:
    """Members hidden, shown again or moved: off the boards they left (or all, when
    hidden), and onto their boards now with their score recomputed from the ledger."""
    if not before:
        return
    now_members = members(session, before)
    today = local_date(utcnow())
    kept = boards.kept_labels(today)
    pipe = boards.client.pipeline(transaction=False)
    for user_id, old_scopes in before.items():
        member = now_members.get(user_id)
        current = () if member is None or member.hidden else member.scopes
        earned: dict[tuple[str, str], int] = {}
        if current:
            for _, code, amount, created_at in stream_earnings(session, None, user_id=user_id):
                for label in labels_of(local_date(created_at)).values():
                    earned[code, label] = earned.get((code, label), 0) + amount
        for code in _currencies(session):
            for labels in kept.values():
                for label in labels:
                    for scope in {*old_scopes, *current}:
                        score = earned.get((code, label), 0) if scope in current else 0
                        key = boards.key(Board(code, scope, label))
                        boards.scripts.set_member(
                            keys=[key], args=[member_of(user_id), score], client=pipe
                        )
    pipe.execute()
    session.commit()


def _currencies(session: Session) -> list[str]:
    return list(session.scalars(select(Currency.code).order_by(Currency.code)))


class LeaderboardFeed:
    """The leaderboards' consumer of each unit of work: notices members whose boards a
    flush changes, and after commit applies the outbox rows the transaction wrote and
    redoes the boards of members who moved."""

    def __init__(self, boards: Boards) -> None:
        self.boards = boards

    def noticed_flush(self, uow: UnitOfWork) -> None:
        notice_moved_members(uow)

    def committed(self, session: Session, events: Sequence[object]) -> None:
        apply_written(session, self.boards, [e for e in events if isinstance(e, Written)])
        moved: dict[int, tuple[Scope, ...]] = {}
        for event in events:
            if isinstance(event, MemberMoved):
                moved.setdefault(event.user_id, event.scopes_before)
        try:
            refresh_members(session, self.boards, moved)
        except (redis.RedisError, SQLAlchemyError, OSError) as error:
            session.rollback()
            log.warning("leaderboards: %d member(s) left for reconcile: %s", len(moved), error)


@dataclass(frozen=True)
class SweepReport:
    applied: int = 0
    rebuilt: int = 0
    left: int = 0  # still unapplied: a board that could not be rebuilt


def outbox_lag(session: Session, now: datetime) -> float:
    """Seconds the oldest outbox row has waited for Redis (0 when none waits); reported
    to the metrics, where a growing lag says the worker or Redis is down."""
    oldest = session.scalar(
        select(func.min(EarningEvent.created_at)).where(EarningEvent.applied_at.is_(None))
    )
    session.rollback()  # a read of its own: hold no snapshot open
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


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
