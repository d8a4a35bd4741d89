"""Applying the outbox to Redis right after a commit, and redoing the boards of members
who moved.

A Redis failure here never reaches the business transaction: it has committed
already, its outbox rows stay unapplied, and the sweeper (``lianxin leaderboard
sync``, or the worker) applies them when Redis is back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import redis
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from points.calendar import local_date
from points.leaderboard import (
    Member,
    Scope,
    labels_of,
    member_of,
)
from service.db import utcnow
from service.leaderboards.boards import Board, Boards, boards_of_event
from service.leaderboards.members import members
from service.leaderboards.moves import MemberMoved, notice_moved_members
from service.leaderboards.store import applied_key
from service.leaderboards.totals import stream_earnings
from service.ledger.earnings import OutboxRow, Written
from service.ledger.models import EARNING_EVENT_TABLE, Currency
from service.outbox.dispatch import Handler
from service.outbox.events import Durable
from service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


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


_MARK_APPLIED = (
    update(EARNING_EVENT_TABLE)
    .where(EARNING_EVENT_TABLE.c.id.in_(bindparam("event_ids", expanding=True)))
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
    flush changes (kept in the outbox, see ``member_moved``), and after commit applies
    the earnings the transaction wrote."""

    def __init__(self, boards: Boards) -> None:
        self.boards = boards

    def noticed_flush(self, uow: UnitOfWork) -> None:
        notice_moved_members(uow)

    def committed(self, session: Session, events: Sequence[object]) -> None:
        apply_written(session, self.boards, [e for e in events if isinstance(e, Written)])

    def handlers(self) -> dict[type[Durable], Handler]:
        """What the leaderboards handle of the outbox."""
        return {MemberMoved: self.member_moved}

    def member_moved(self, session: Session, events: Sequence[Durable]) -> None:
        """Redo the boards of members who moved; a failure raises, and the outbox
        tries again later."""
        # Every board a member was on before any of their moves: earnings applied
        # between two moves not yet redone went to the boards of the first one.
        moved: dict[int, dict[Scope, None]] = {}
        for event in events:
            if isinstance(event, MemberMoved):  # the dispatcher hands over only its kind
                moved.setdefault(event.user_id, {}).update(dict.fromkeys(event.scopes_before))
        refresh_members(session, self.boards, {id: tuple(s) for id, s in moved.items()})
