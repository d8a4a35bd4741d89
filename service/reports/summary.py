"""A scope's report for a period (述统): every figure, its change from the period
before, the breakdowns as chart-ready lists and the top volunteers; for a department,
each paired community's apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from points.access import Actor
from points.calendar import Span, local_date
from points.reports import Figures, changes, period_name, previous_period, report_period
from points.reports import Scope as ScopeName
from service.reports.counting import count
from service.reports.groups import SUMMARY, Groups, place_summary
from service.reports.scope import paired_communities, resolve
from service.reports.tally import Counted, TopVolunteer

TOP = 10  # volunteers named in a report


@dataclass
class Section:
    """One part of a report: the scope itself, or a community a department is paired
    with (over the days of the pairing that fall in the period)."""

    key: str
    name: str
    span: Span
    previous_span: Span
    counted: Counted
    previous: Figures
    change: Figures
    top_volunteers: list[TopVolunteer] = field(default_factory=list)

    @property
    def figures(self) -> Figures:
        return self.counted.figures


@dataclass
class Summary:
    scope: str
    name: str
    title: str
    span: Span
    own: Section
    paired: list[Section]

    @property
    def sections(self) -> list[Section]:
        return [self.own, *self.paired]


def summarise(
    session: Session,
    actor: Actor,
    scope: ScopeName,
    now: datetime,
    *,
    first: date | None = None,
    last: date | None = None,
    progress: Any = None,
) -> Summary:
    """The report on ``scope`` from ``first`` to ``last`` (the current quarter by
    default), for staff, officers and admins whose grants cover it. ``progress``, if
    given, is called once per part counted (the CLI's progress bar)."""
    span = report_period(local_date(now), first, last)
    subject = resolve(session, actor, scope)
    own = _section(session, str(scope), subject.name, subject.groups, span, now)
    if progress is not None:
        progress()
    paired = []
    if subject.department is not None:
        for part in paired_communities(session, subject.department.id, span):
            groups = place_summary(part.place)
            key = f"pairing:{part.pairing_id}"
            paired.append(_section(session, key, part.place.name, groups, part.span, now))
            if progress is not None:
                progress()
    title = f"{subject.name} {period_name(span)} 述统亮评报表"
    return Summary(str(scope), subject.name, title, span, own, paired)


def parts(session: Session, actor: Actor, scope: ScopeName, now: datetime, **period: Any) -> int:
    """How many parts ``summarise`` will count, for a progress bar's total."""
    subject = resolve(session, actor, scope)
    if subject.department is None:
        return 1
    span = report_period(local_date(now), period.get("first"), period.get("last"))
    return 1 + len(paired_communities(session, subject.department.id, span))


def _section(
    session: Session, key: str, name: str, groups: Groups, span: Span, now: datetime
) -> Section:
    before = previous_period(span)
    counts, earlier = count(session, groups, [span, before], now, top=TOP)
    counted, previous = counts[SUMMARY], earlier[SUMMARY].figures
    return Section(
        key=key,
        name=name,
        span=span,
        previous_span=before,
        counted=counted,
        previous=previous,
        change=changes(counted.figures, previous),
        top_volunteers=counted.top_volunteers,
    )
