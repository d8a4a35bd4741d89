"""述统亮评 as plain values: what a report is over (a scope and a period), the figures it
counts with their Chinese names, and the arithmetic between two periods.

The scope says who and where: a place subtree (``org:{id}``), a party branch
(``branch:{id}``) or a department (``dept:{id}``). Counting itself is the service's,
in SQL; this module only names and compares what it counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeVar

from points.calendar import Span, quarter, quarter_of
from points.errors import InvalidInput


class ScopeKind(StrEnum):
    PLACE = "org"
    BRANCH = "branch"
    DEPARTMENT = "dept"


@dataclass(frozen=True, slots=True)
class Scope:
    kind: ScopeKind
    id: int

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"


SCOPE_PATTERN = r"^(org|branch|dept):([1-9][0-9]{0,17})$"
_SCOPE = re.compile(SCOPE_PATTERN)
_QUARTER = re.compile(r"([0-9]{4})Q([1-4])")


def parse_scope(text: str) -> Scope:
    """``org:12`` → Scope(PLACE, 12); anything else is refused with the forms allowed."""
    match = _SCOPE.match(text.strip())
    if match is None:
        raise InvalidInput(
            "a scope is org:{id}, branch:{id} or dept:{id}", errors={"scope": ["unknown form"]}
        )
    return Scope(ScopeKind(match.group(1)), int(match.group(2)))


def parse_quarter(text: str) -> Span:
    """``2026Q4`` → the fourth quarter of 2026, as the CLI names one."""
    match = _QUARTER.fullmatch(text.strip().upper())
    if match is None:
        raise InvalidInput("a quarter is written like 2026Q4", errors={"quarter": ["unknown"]})
    return quarter(int(match.group(1)), int(match.group(2)))


# A report may cover at most this many days: a long span is a query over years of
# rows that nobody hands upwards; years are compared by asking year by year.
LONGEST_PERIOD_DAYS = 366 * 2


def report_period(today: date, first: date | None, last: date | None) -> Span:
    """The days a report covers: ``first`` to ``last`` (both included) as asked, the
    quarter of ``today`` by default, or from one end to the end of that end's quarter."""
    if first is None and last is None:
        return quarter_of(today)
    start = first if first is not None else quarter_of(last or today).first
    end = last + timedelta(days=1) if last is not None else quarter_of(start).end
    if end <= start:
        raise InvalidInput("the period ends before it starts", errors={"to": ["before from"]})
    if (end - start).days > LONGEST_PERIOD_DAYS:
        raise InvalidInput(
            f"a report covers at most {LONGEST_PERIOD_DAYS} days", errors={"to": ["too far"]}
        )
    return Span(start, end)


def previous_period(span: Span) -> Span:
    """The period a report compares with: the quarter before a whole quarter, otherwise
    the same number of days just before."""
    if quarter_of(span.first) == span:
        return quarter_of(span.first - timedelta(days=1))
    length = span.end - span.first
    return Span(span.first - length, span.first)


def period_name(span: Span) -> str:
    """``2026年第4季度`` for a whole quarter, ``2026-10-01至2026-11-15`` otherwise."""
    if quarter_of(span.first) == span:
        return f"{span.first.year}年第{(span.first.month - 1) // 3 + 1}季度"
    return f"{span.first.isoformat()}至{span.last.isoformat()}"


# The figures every report counts, in the order tables show them, with the headers the
# spreadsheet uses. A league table sorts by any of them.
FIGURES: dict[str, str] = {
    "tasks_published": "发布任务数",
    "tasks_completed": "完成任务数",
    "participations_approved": "审核通过参与人次",
    "volunteers": "参与人数",
    "volunteers_members": "参与党员数",
    "volunteers_volunteers": "参与志愿者数",
    "volunteer_hours": "志愿服务时长（小时）",
    # Of those: measured by check-in and check-out, and entered by staff after the fact
    # (补录), kept apart as the national volunteering platforms do.
    "verified_hours": "其中签到核验时长（小时）",
    "entered_hours": "其中补录时长（小时）",
    "households_visited": "走访户数",
    "residents_helped": "帮扶居民人次",
    "demands_received": "收到诉求数",
    "demands_closed": "办结诉求数",
    "demands_closed_on_time": "按时办结数",
    "whistles_received": "吹哨数",
    "whistles_acknowledged_on_time": "按时报到数",
    "acknowledge_rate": "报到率",
    "ratings": "评价数",
    "average_rating": "平均评分",
    # 群众来评判 of task work, by the households it reached.
    "work_ratings": "服务评价数",
    "average_work_rating": "服务平均评分",
    "jifen_issued": "发放积分",
    "xingfubi_issued": "发放幸福币",
    "xingfubi_redeemed": "兑换幸福币",
    "jifen_expired": "过期积分",
    "xingfubi_expired": "过期幸福币",
}

# Shown as a share or a mean rather than a count (the spreadsheet formats them so).
RATIOS = frozenset({"acknowledge_rate", "average_rating", "average_work_rating"})
DECIMALS = frozenset({"volunteer_hours", "verified_hours", "entered_hours"})

Figures = dict[str, float | int | None]


def changes(current: Figures, previous: Figures) -> Figures:
    """Each figure's change from the previous period; None where either side has none
    (a rate over nothing is not zero)."""
    moved: Figures = {}
    for name in FIGURES:
        now, before = current.get(name), previous.get(name)
        if now is None or before is None:
            moved[name] = None
        else:
            difference = now - before
            moved[name] = round(difference, 4) if isinstance(difference, float) else difference
    return moved


T = TypeVar("T")


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


def sort_rows(rows: list[T], figures: list[Figures], by: str, order: SortOrder) -> list[T]:
    """Rows ordered by one figure, the rows without it last whichever the order, and ties
    in the order given (the place or branch order)."""
    if by not in FIGURES:
        raise InvalidInput(f"no figure {by!r} to sort by", errors={"sort": ["unknown figure"]})
    sign = -1 if order is SortOrder.DESC else 1
    keyed = sorted(
        range(len(rows)),
        key=lambda i: (figures[i].get(by) is None, sign * (figures[i].get(by) or 0), i),
    )
    return [rows[i] for i in keyed]
