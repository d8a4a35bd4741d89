"""Leaderboards (排行榜): which boards a point counts on, and how ranks are told.

A board is one currency × one scope (a place node, a party branch or a department) ×
one period (ISO week, month, quarter, year, or all time) of Beijing time. It counts
points *earned* — earn and award transfers, less reversals of them — so spending or
expiry never lowers a rank, and a reversed earning is taken back from the period it
was earned in.

Ranks are competition ranks (1, 2, 2, 4). Inside a tie the member with the lower user
id comes first, on Redis and in SQL alike: Redis orders equal scores by member, so the
member string is the user id counted down from a fixed ceiling (``member_of``), which
makes "reverse lexicographic" mean "user id ascending".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from points.calendar import (
    Span,
    month_of,
    quarter,
    quarter_number,
    quarter_of,
    week_of,
    year_of,
)
from points.errors import InvalidInput
from points.places import ancestor_ids

_MEMBER_CEILING = 9_999_999_999
_MEMBER_WIDTH = 10


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    ALL = "all"


class ScopeKind(StrEnum):
    PLACE = "org"  # a node of the place tree: the residence and everything above it ("org:<id>")
    BRANCH = "branch"  # the member's party branch
    DEPT = "dept"  # the department that branch belongs to


class Scope(NamedTuple):
    # A tuple, not a dataclass: a rebuild hashes scopes millions of times.
    kind: ScopeKind
    id: int

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"


def parse_scope(text: str) -> Scope:
    """``org:3``, ``branch:7`` or ``dept:2``."""
    kind, _, raw_id = text.partition(":")
    try:
        scope = Scope(ScopeKind(kind), int(raw_id))
    except ValueError:
        raise InvalidInput(
            "scope is org:<id>, branch:<id> or dept:<id>",
            errors={"scope": ["must be org:<id>, branch:<id> or dept:<id>"]},
        ) from None
    if scope.id <= 0:
        raise InvalidInput("scope ids are positive", errors={"scope": ["id must be positive"]})
    return scope


def period_label(period: Period, day: date) -> str:
    """The name of the period a local day falls in: ``2026-W47``, ``2026-11``,
    ``2026-Q4``, ``2026`` or ``all``. Labels of one kind sort in time order."""
    match period:
        case Period.WEEK:
            year, week, _ = day.isocalendar()
            return f"{year}-W{week:02d}"
        case Period.MONTH:
            return f"{day.year}-{day.month:02d}"
        case Period.QUARTER:
            return f"{day.year}-Q{quarter_number(day)}"
        case Period.YEAR:
            return f"{day.year}"
    return "all"


def labels_of(day: date) -> dict[Period, str]:
    return {period: period_label(period, day) for period in Period}


def day_in(period: Period, label: str, today: date) -> date:
    """A day inside the period a label names (today for all time)."""
    try:
        match period:
            case Period.WEEK:
                year, week = label.split("-W")
                return date.fromisocalendar(int(year), int(week), 1)
            case Period.MONTH:
                year, month = label.split("-")
                return date(int(year), int(month), 1)
            case Period.QUARTER:
                year, number = label.split("-Q")
                return quarter(int(year), int(number)).first
            case Period.YEAR:
                return date(int(label), 1, 1)
    except ValueError:
        raise InvalidInput(f"{label!r} is not a {period.value}") from None
    return today


def period_of(label: str) -> Period:
    """Which kind of period a label names."""
    if label == "all":
        return Period.ALL
    if "-W" in label:
        return Period.WEEK
    if "-Q" in label:
        return Period.QUARTER
    return Period.MONTH if "-" in label else Period.YEAR


_SPANS: Mapping[Period, Callable[[date], Span]] = {
    Period.WEEK: week_of,
    Period.MONTH: month_of,
    Period.QUARTER: quarter_of,
    Period.YEAR: year_of,
}


def period_start(period: Period, day: date) -> date:
    span = _SPANS.get(period)
    return date(1970, 1, 1) if span is None else span(day).first


def next_start(period: Period, day: date) -> date | None:
    """The first day after the period ``day`` falls in (None for all time)."""
    span = _SPANS.get(period)
    return None if span is None else span(day).end


def utc_bounds(period: Period, day: date) -> tuple[datetime | None, datetime | None]:
    """The period as a half-open range of instants, for SQL on ``created_at``."""
    span = _SPANS.get(period)
    if span is None:
        return None, None
    within = span(day)
    return within.starts_at.astimezone(UTC), within.ends_at.astimezone(UTC)


def recent_labels(period: Period, today: date, keep: int) -> list[str]:
    """The labels of the last ``keep`` periods up to and including today's, newest first."""
    if period is Period.ALL:
        return ["all"]
    labels, day = [], today
    for _ in range(max(keep, 1)):
        labels.append(period_label(period, day))
        day = period_start(period, day) - timedelta(days=1)
    return labels


def board_tag(currency: str, scope: Scope, label: str) -> str:
    """The part of a board's key Redis Cluster hashes: a board, its applied-event set
    and its rebuild copy share one slot, so a script and RENAME may touch them together."""
    return f"{{{currency}:{scope}:{label}}}"


def board_key(prefix: str, currency: str, scope: Scope, label: str) -> str:
    """``lb:<currency>:<scope>:<scope_id>:<period>``, hash-tagged, behind the prefix."""
    return f"{prefix}lb:{board_tag(currency, scope, label)}"


def parse_board_key(prefix: str, key: str) -> tuple[str, Scope, str] | None:
    """The currency, scope and period label of a board key; None for any other key."""
    head = f"{prefix}lb:{{"
    if not key.startswith(head) or not key.endswith("}") or "}:" in key:
        return None
    parts = key[len(head) : -1].split(":")
    if len(parts) != 4:
        return None
    currency, kind, raw_id, label = parts
    try:
        return currency, Scope(ScopeKind(kind), int(raw_id)), label
    except ValueError:
        return None


def member_of(user_id: int) -> str:
    return f"{_MEMBER_CEILING - user_id:0{_MEMBER_WIDTH}d}"


def user_of(member: str | bytes) -> int:
    return _MEMBER_CEILING - int(member)


@dataclass(frozen=True)
class Standing:
    rank: int
    user_id: int
    score: int


def competition_ranks(
    ordered: Sequence[tuple[int, int]], *, offset: int = 0, first_rank: int | None = None
) -> list[Standing]:
    """Ranks for ``(user_id, score)`` already in board order, the first row being at
    0-based board position ``offset``. Ties share a rank and the next rank skips as many
    as tied (1, 2, 2, 4). A window further down the board may start inside a tie: then
    ``first_rank`` (one more than the members scoring higher) is its first row's rank."""
    standings: list[Standing] = []
    for position, (user_id, score) in enumerate(ordered):
        if standings and standings[-1].score == score:
            rank = standings[-1].rank
        elif not standings and first_rank is not None:
            rank = first_rank
        else:
            rank = offset + position + 1
        standings.append(Standing(rank, user_id, score))
    return standings


def board_order(totals: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """``(user_id, score)`` in board order: score descending, then user id ascending."""
    return iter(sorted(totals, key=lambda row: (-row[1], row[0])))


@dataclass(frozen=True)
class Member:
    """Someone as the boards see them: which boards they count on, and whether they
    are on none (opted out, or banned by staff)."""

    user_id: int
    name: str
    scopes: tuple[Scope, ...]
    hidden: bool


def scopes_of(
    place_path: str | None, branch_id: int | None, department_id: int | None
) -> list[Scope]:
    """Every place from the residence up, the party branch, and its department.

    A board ranks people by where they belong, not by where they served: 双报到 puts a
    member on the boards of both their scopes, residence and branch (with its
    department). Pairings (百部联百村) are left out on purpose. They pair a department
    with communities for its work there, and that work already counts on the
    department's and its branch's boards; putting every member of a department on
    each paired community's boards, with all they earned anywhere, would rank the
    community's residents below people who don't live there. For the same reason a
    community's branch puts its members on the branch board, not on its place's."""
    scopes = [Scope(ScopeKind.PLACE, place_id) for place_id in ancestor_ids(place_path or "")]
    if branch_id is not None:
        scopes.append(Scope(ScopeKind.BRANCH, branch_id))
    if department_id is not None:
        scopes.append(Scope(ScopeKind.DEPT, department_id))
    return scopes
