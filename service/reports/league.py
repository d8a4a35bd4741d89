"""The league table (亮 and 评): one row per community of a street, grid of a
community or branch of a department, each with the report's figures, sorted by one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from points.access import Actor
from points.calendar import Span, local_date
from points.reports import Figures, SortOrder, period_name, report_period, sort_rows
from points.reports import Scope as ScopeName
from service.reports.counting import count
from service.reports.scope import league_rows, resolve


@dataclass(frozen=True)
class LeagueRow:
    key: int
    name: str
    figures: Figures


@dataclass(frozen=True)
class League:
    scope: str
    name: str
    title: str
    span: Span
    sort: str
    order: SortOrder
    rows: list[LeagueRow]


def league_table(
    session: Session,
    actor: Actor,
    scope: ScopeName,
    now: datetime,
    *,
    first: date | None = None,
    last: date | None = None,
    sort: str = "volunteer_hours",
    order: SortOrder = SortOrder.DESC,
) -> League:
    """Every part of ``scope`` side by side over the period, counted in one pass."""
    span = report_period(local_date(now), first, last)
    subject = resolve(session, actor, scope)
    parts, groups = league_rows(session, subject)
    (counted,) = count(session, groups, [span], now)
    rows = [LeagueRow(part.key, part.name, counted[part.key].figures) for part in parts]
    ordered = sort_rows(rows, [row.figures for row in rows], sort, order)
    title = f"{subject.name} {period_name(span)} 述统亮评排名"
    return League(str(scope), subject.name, title, span, sort, order, ordered)
