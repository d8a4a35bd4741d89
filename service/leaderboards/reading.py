"""Reading a leaderboard: from Redis, or from SQL marked stale when Redis can't answer.

Who may read which board: the boards of the places they live in and above (and
below), their own party branch and its department; and any board inside, or above,
the scopes their roles are granted on. Others don't exist for them (404). As with
counting (``scopes_of``), a pairing with a community, or a branch's place, opens the
community's tasks to a member but not its boards: those rank the people who live there.
"""

from __future__ import annotations

import logging
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from points.access import Actor, ScopeType, Target, covers
from points.calendar import local_date
from points.errors import NotFound
from points.leaderboard import (
    Period,
    Scope,
    ScopeKind,
    Standing,
    competition_ranks,
    member_of,
    parse_scope,
    period_label,
    user_of,
)
from service import telemetry
from service.leaderboards.boards import Board, Boards
from service.leaderboards.store import pairs
from service.leaderboards.totals import ranked_board
from service.ledger.accounts import currency as known_currency
from service.organisation.models import Branch, Department
from service.people.models import User
from service.places.models import Place

log = logging.getLogger(__name__)

# How often a board was served from SQL, by reason; the metrics endpoint reads it.
FALLBACKS: Counter[str] = Counter()
MISSING_BOARDS = "lb:missing"  # boards a reader found missing, for the worker to rebuild


@dataclass(frozen=True)
class Entry:
    rank: int
    user_id: int
    name: str
    score: int


@dataclass(frozen=True)
class Mine:
    rank: int
    score: int


@dataclass(frozen=True)
class BoardView:
    items: list[Entry]
    me: Mine | None
    around: list[Entry]
    stale: bool


def count_fallback(reason: str) -> None:
    FALLBACKS[reason] += 1
    telemetry.redis_fallback(f"leaderboard:{reason}")
    log.info("leaderboard served from SQL", extra={"reason": reason})


def read_board(
    session: Session,
    boards: Boards,
    actor: Actor,
    currency_code: str,
    scope_text: str,
    period: Period,
    *,
    limit: int,
    around: int,
    now: datetime,
) -> BoardView:
    """Top ``limit``, the caller's standing, and ``around`` people either side of them."""
    known_currency(session, currency_code)
    scope = parse_scope(scope_text)
    require_visible(session, actor, scope)
    board = Board(currency_code, scope, period_label(period, local_date(now)))
    try:
        found = from_redis(boards, board, actor.user_id, limit=limit, around=around)
    except redis.RedisError as error:
        log.warning("leaderboard: Redis unavailable, answering from SQL: %s", error)
        count_fallback("redis_unavailable")
        found = None
    else:
        if found is None:
            count_fallback("board_missing")
            _ask_for_rebuild(boards, board)
    if found is None:
        return from_sql(session, board, actor.user_id, limit=limit, around=around, now=now)
    top, mine, window = found
    names = _names(session, {s.user_id for s in (*top, *window)})
    return BoardView(
        items=[_entry(s, names) for s in top],
        me=Mine(mine.rank, mine.score) if mine else None,
        around=[_entry(s, names) for s in window],
        stale=False,
    )


def _entry(standing: Standing, names: dict[int, str]) -> Entry:
    return Entry(standing.rank, standing.user_id, names.get(standing.user_id, ""), standing.score)


def _names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
    return {row.id: row.name for row in rows}


def _ask_for_rebuild(boards: Boards, board: Board) -> None:
    with suppress(redis.RedisError):  # the nightly reconcile rebuilds it anyway
        boards.client.sadd(f"{boards.prefix}{MISSING_BOARDS}", boards.key(board))


def from_redis(
    boards: Boards, board: Board, user_id: int, *, limit: int, around: int
) -> tuple[list[Standing], Standing | None, list[Standing]] | None:
    """One script call (one round trip); None when the board isn't in Redis."""
    reply: list[Any] = boards.scripts.read(
        keys=[boards.key(board)], args=[member_of(user_id), limit, around]
    )
    if not reply[0]:
        return None
    top = competition_ranks([(user_of(m), s) for m, s in pairs(reply[1])])
    if len(reply) < 3:
        return top, None, []
    score, above = int(float(reply[2])), int(reply[3])
    mine = Standing(above + 1, user_id, score)
    window: list[Standing] = []
    if len(reply) > 5:
        offset, shown, first_above = int(reply[5]), pairs(reply[6]), int(reply[7])
        window = competition_ranks(
            [(user_of(m), s) for m, s in shown], offset=offset, first_rank=first_above + 1
        )
    return top, mine, window


def from_sql(
    session: Session, board: Board, user_id: int, *, limit: int, around: int, now: datetime
) -> BoardView:
    found = ranked_board(
        session,
        board.currency,
        board.scope,
        board.period,
        local_date(now),
        limit=limit,
        user_id=user_id,
        around=around,
    )
    return BoardView(
        items=[Entry(r.rank, r.user_id, r.name, r.score) for r in found.top],
        me=Mine(found.me.rank, found.me.score) if found.me else None,
        around=[Entry(r.rank, r.user_id, r.name, r.score) for r in found.around],
        stale=True,
    )


def require_visible(session: Session, actor: Actor, scope: Scope) -> None:
    me = session.get(User, actor.user_id)
    home = session.get(Place, me.residence_place_id) if me and me.residence_place_id else None
    my_branch = session.get(Branch, me.home_branch_id) if me and me.home_branch_id else None
    match scope.kind:
        case ScopeKind.PLACE:
            place = session.get(Place, scope.id)
            if place is None:
                raise NotFound("leaderboard not found")
            mine = [home.path] if home else []
            mine += [
                g.scope_path
                for g in actor.grants
                if g.scope_type is ScopeType.PLACE and g.scope_path
            ]
            if any(place.path.startswith(p) or p.startswith(place.path) for p in mine):
                return
        case ScopeKind.BRANCH:
            branch = session.get(Branch, scope.id)
            if branch is None:
                raise NotFound("leaderboard not found")
            if my_branch is not None and my_branch.id == branch.id:
                return
            branch_place = session.get(Place, branch.place_id) if branch.place_id else None
            target = Target(
                place_path=branch_place.path if branch_place else None,
                branch_id=branch.id,
                department_id=branch.department_id,
                organisation_wide=branch.place_id is None,
            )
            if any(covers(g, target) for g in actor.grants):
                return
        case ScopeKind.DEPT:
            if session.get(Department, scope.id) is None:
                raise NotFound("leaderboard not found")
            if my_branch is not None and my_branch.department_id == scope.id:
                return
            target = Target(department_id=scope.id, organisation_wide=True)
            if any(covers(g, target) for g in actor.grants):
                return
    raise NotFound("leaderboard not found")
