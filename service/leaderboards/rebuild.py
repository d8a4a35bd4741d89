"""Rebuilding, reconciling and pruning boards from the ledger (operator commands).

One pass over the standing earnings builds every kept board's scores in memory, one
(currency, period) at a time; each board is written to a copy and swapped in with
RENAME, so readers always see a whole board. Reconcile is the same pass, comparing
each board with Redis and swapping in only those that differ.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.calendar import local_date
from points.leaderboard import (
    Member,
    Period,
    Scope,
    board_order,
    labels_of,
    parse_board_key,
    period_of,
    user_of,
)
from service.leaderboards.boards import Board, Boards
from service.leaderboards.feed import mark_applied
from service.leaderboards.members import members
from service.leaderboards.reading import MISSING_BOARDS
from service.leaderboards.store import applied_key
from service.leaderboards.sweeper import SweepReport, sweep
from service.leaderboards.totals import stream_earnings
from service.leaderboards.writing import BoardWriter, begin_snapshot, catch_up, rebuild_board
from service.ledger.models import Currency

Progress = Callable[[int, int], None]  # (done, total) boards
# Set by a full rebuild. Its absence means Redis lost its data (a restart without
# persistence, a flush) or was never built: the sweeper then rebuilds everything.
BUILT = "lb:built"


@dataclass
class Report:
    boards: int = 0  # boards looked at
    written: int = 0  # boards swapped in
    entries: int = 0  # members on the boards written
    differences: list[str] = field(default_factory=list)  # reconcile: what was wrong
    pruned: int = 0


@dataclass(frozen=True)
class Selection:
    scope: Scope | None = None
    currency: str | None = None
    period: Period | None = None


def _earned_by_period(
    session: Session, boards: Boards, selection: Selection, today: date
) -> dict[tuple[str, str], dict[int, int]]:
    """(currency, period label) → user → points earned, for every kept period."""
    kept = boards.kept_labels(today)
    periods = [selection.period] if selection.period else list(Period)
    totals: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    day_labels: dict[date, dict[Period, str]] = {}
    for user_id, code, amount, created_at in stream_earnings(session, selection.currency):
        day = local_date(created_at)
        labels = day_labels.get(day)
        if labels is None:
            labels = day_labels[day] = labels_of(day)
        for period in periods:
            label = labels[period]
            if label in kept[period]:
                totals[code, label][user_id] += amount
    return totals


def _boards_wanted(
    session: Session, boards: Boards, selection: Selection, people: dict[int, Member], today: date
) -> list[tuple[str, str, list[Scope]]]:
    """Every (currency, label, scopes) a full rebuild writes, empty boards included."""
    scopes = sorted({s for m in people.values() for s in m.scopes}, key=str)
    if selection.scope is not None:
        scopes = [selection.scope]
    currencies = [selection.currency] if selection.currency else _currencies(session)
    kept = boards.kept_labels(today)
    periods = [selection.period] if selection.period else list(Period)
    return [
        (code, label, scopes)
        for code in currencies
        for period in periods
        for label in sorted(kept[period])
    ]


def _currencies(session: Session) -> list[str]:
    return list(session.scalars(select(Currency.code).order_by(Currency.code)))


def regenerate(
    session: Session,
    boards: Boards,
    selection: Selection,
    *,
    now: datetime,
    compare: bool,
    progress: Progress | None = None,
) -> Report:
    """Rebuild (``compare=False``) or reconcile (``compare=True``) the selected boards."""
    today = local_date(now)
    snapshot = begin_snapshot(session)
    people = members(session)
    totals = _earned_by_period(session, boards, selection, today)
    session.rollback()
    wanted = _boards_wanted(session, boards, selection, people, today)
    total = sum(len(scopes) for _, _, scopes in wanted)
    report = Report()
    written: set[Board] = set()
    writer = BoardWriter(boards, snapshot)
    for code, label, scopes in wanted:
        by_scope: dict[Scope, list[tuple[int, int]]] = {scope: [] for scope in scopes}
        for user_id, score in totals.get((code, label), {}).items():
            member = people.get(user_id)
            if member is None or member.hidden or score <= 0:
                continue
            for scope in member.scopes:
                if scope in by_scope:
                    by_scope[scope].append((user_id, score))
        for scope, scores in by_scope.items():
            board = Board(code, scope, label)
            ordered = list(board_order(scores))
            report.boards += 1
            if compare:
                difference = _compare(boards, board, ordered)
                if difference is None:
                    _advance(progress, report.boards, total)
                    continue
                report.differences.append(difference)
            writer.add(board, ordered)
            written.add(board)
            report.written += 1
            report.entries += len(ordered)
            _advance(progress, report.boards, total)
    writer.flush()
    catch_up(session, boards, snapshot, written)
    if selection == Selection() and not compare:
        # Every kept board now counts what the snapshot saw, so its pending events are
        # done (older periods are pruned anyway); a partial rebuild leaves them to the
        # sweeper, whose markers skip the boards rebuilt here.
        mark_applied(session, [i for events in snapshot.unapplied.values() for i, _ in events])
        boards.client.set(f"{boards.prefix}{BUILT}", now.isoformat())
    return report


def sync(session: Session, boards: Boards, *, now: datetime, batch: int = 1_000) -> SweepReport:
    """The sweeper's whole job: everything rebuilt if Redis lost its boards, else the
    outbox events not applied yet (and any missing board they touch)."""
    if not boards.client.exists(f"{boards.prefix}{BUILT}"):
        report = regenerate(session, boards, Selection(), now=now, compare=False)
        return SweepReport(applied=0, rebuilt=report.written, left=0)
    return sweep(session, boards, batch=batch)


def _advance(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _compare(boards: Boards, board: Board, expected: list[tuple[int, int]]) -> str | None:
    key = boards.key(board)
    if not boards.client.exists(key):
        return f"{key}: missing"
    rows: Any = boards.client.zrevrangebyscore(key, "+inf", "(0", withscores=True)
    found = [(user_of(member), int(score)) for member, score in rows]
    if found == expected:
        return None
    wrong = len({user_id for user_id, _ in set(found) ^ set(expected)})
    return (
        f"{key}: {wrong} member{' differs' if wrong == 1 else 's differ'} "
        f"({len(found)} in Redis, {len(expected)} in the ledger)"
    )


def prune(boards: Boards, *, now: datetime) -> int:
    """Delete period boards older than the last N periods (and their applied sets)."""
    kept = boards.kept_labels(local_date(now))
    doomed: list[str] = []
    for raw in boards.client.scan_iter(match=f"{boards.prefix}lb:{{*}}", count=1000):
        key = raw.decode() if isinstance(raw, bytes) else raw
        parsed = parse_board_key(boards.prefix, key)
        if parsed is None:
            continue
        _, _, label = parsed
        if label not in kept[period_of(label)]:
            doomed += [key, applied_key(key)]
    for key in doomed:
        boards.client.delete(key)  # one key per call: boards live in different slots
    return len(doomed) // 2


def rebuild_missing(session: Session, boards: Boards, *, limit: int = 100) -> int:
    """Rebuild the boards readers found missing (they were served from SQL meanwhile)."""
    done = 0
    popped: Any = boards.client.spop(f"{boards.prefix}{MISSING_BOARDS}", limit) or []
    for raw in popped:
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        parsed = parse_board_key(boards.prefix, key)
        if parsed is None:
            continue
        code, scope, label = parsed
        rebuild_board(session, boards, Board(code, scope, label))
        done += 1
    return done
