"""Earned scores from the ledger in SQL: the truth the Redis boards are rebuilt from,
compared with, and served from when Redis can't answer.

Earned in a period = earn and award transfers credited to the member in it, less
those since reversed (a reversal takes the points back from the period they were
earned in). Window functions rank them exactly as Redis orders its boards: score
descending, user id ascending inside a tie; competition ranks by ``RANK()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, aliased

from points.leaderboard import Period, Scope, ScopeKind, utc_bounds
from points.ledger import EARNING
from service.ledger.models import LedgerAccount, Transfer
from service.organisation.models import Branch
from service.people.models import User
from service.places.models import Place

EARNING_VALUES = sorted(kind.value for kind in EARNING)


@dataclass(frozen=True)
class Ranked:
    rank: int
    position: int  # 1-based place in board order
    user_id: int
    name: str
    score: int


def unreversed_earnings(
    currency: str | None = None, user_id: int | None = None
) -> Select[tuple[int, str, int, datetime]]:
    """(user id, currency, amount, created_at) of every earning still standing."""
    reversal = aliased(Transfer)
    query = (
        select(LedgerAccount.user_id, Transfer.currency, Transfer.amount, Transfer.created_at)
        .join(LedgerAccount, LedgerAccount.id == Transfer.credit_account_id)
        .outerjoin(reversal, reversal.reverses_id == Transfer.id)
        .where(
            Transfer.kind.in_(EARNING_VALUES),
            LedgerAccount.user_id.is_not(None),
            reversal.id.is_(None),
        )
    )
    if currency is not None:
        query = query.where(Transfer.currency == currency)
    if user_id is not None:
        query = query.where(LedgerAccount.user_id == user_id)
    return query  # type: ignore[return-value]


def board_scores(
    session: Session, currency: str, scope: Scope, period: Period, day: date
) -> Select[tuple[int, str, int]]:
    """(user id, name, score) of the visible members of one board, unordered."""
    earnings = unreversed_earnings(currency).subquery()
    query = (
        select(User.id, User.name, func.sum(earnings.c.amount).label("score"))
        .join(earnings, earnings.c.user_id == User.id)
        .where(~User.leaderboard_opt_out, ~User.leaderboard_banned)
        .group_by(User.id, User.name)
    )
    start, end = utc_bounds(period, day)
    if start is not None and end is not None:
        query = query.where(earnings.c.created_at >= start, earnings.c.created_at < end)
    match scope.kind:
        case ScopeKind.PLACE:
            root = session.scalar(select(Place.path).where(Place.id == scope.id))
            query = query.join(Place, Place.id == User.residence_place_id).where(
                Place.path.startswith(root or "/none/", autoescape=True)
            )
        case ScopeKind.BRANCH:
            query = query.where(User.home_branch_id == scope.id)
        case ScopeKind.DEPT:
            query = query.join(
                Branch, and_(Branch.id == User.home_branch_id, Branch.department_id == scope.id)
            )
    return query  # type: ignore[return-value]


@dataclass(frozen=True)
class SqlBoard:
    top: list[Ranked]
    me: Ranked | None
    around: list[Ranked]


def ranked_board(
    session: Session,
    currency: str,
    scope: Scope,
    period: Period,
    day: date,
    *,
    limit: int,
    user_id: int | None,
    around: int,
) -> SqlBoard:
    scores = board_scores(session, currency, scope, period, day).subquery()
    ranked = select(
        scores.c.id,
        scores.c.name,
        scores.c.score,
        func.rank().over(order_by=scores.c.score.desc()).label("rank"),
        func.row_number().over(order_by=(scores.c.score.desc(), scores.c.id)).label("position"),
    ).subquery()

    def rows(query: Select[Any]) -> list[Ranked]:
        return [
            Ranked(int(row.rank), int(row.position), int(row.id), row.name, int(row.score))
            for row in session.execute(query)
        ]

    columns = (ranked.c.id, ranked.c.name, ranked.c.score, ranked.c.rank, ranked.c.position)
    top = rows(select(*columns).order_by(ranked.c.position).limit(limit))
    me = None
    if user_id is not None:
        found = rows(select(*columns).where(ranked.c.id == user_id))
        me = found[0] if found else None
    window: list[Ranked] = []
    if me is not None and around > 0:
        window = rows(
            select(*columns)
            .where(ranked.c.position.between(me.position - around, me.position + around))
            .order_by(ranked.c.position)
        )
    return SqlBoard(top, me, window)


def ordered_scores(
    session: Session, currency: str, scope: Scope, period: Period, day: date
) -> list[tuple[int, int]]:
    """The whole board in board order, as (user id, score): what reconcile compares."""
    scores = board_scores(session, currency, scope, period, day).subquery()
    return [
        (int(user), int(score))
        for user, score in session.execute(
            select(scores.c.id, scores.c.score).order_by(scores.c.score.desc(), scores.c.id)
        )
    ]


def stream_earnings(
    session: Session, currency: str | None, *, user_id: int | None = None
) -> Iterator[tuple[int, str, int, datetime]]:
    """Every standing earning, streamed (a rebuild reads the whole ledger once)."""
    # Core on the session's connection: the ORM's row machinery would double the cost.
    result = session.connection().execute(
        unreversed_earnings(currency, user_id), execution_options={"yield_per": 20_000}
    )
    for row in result:
        yield int(row.user_id), row.currency, int(row.amount), row.created_at
