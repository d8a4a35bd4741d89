"""The figures of a period, counted in the database: one GROUP BY per topic over the
rows of the period, joined to who and where the report is about (groups.py). Only
aggregate rows come back, however many participations and transfers there are."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from points.calendar import Span
from points.demands import LEVEL_LABELS, DemandLevel, DemandStatus
from points.households import VisitStatus
from points.ledger import TransferKind
from points.reports import Figures
from points.rules import Category, TaskType, WorkUnit
from points.tasks import ParticipationStatus, TaskStatus
from service.demands.models import Demand, DemandOverdue, DemandRating, DemandWhistle
from service.demands.whistles import acknowledge_rate, whistle_counts
from service.households.models import HouseholdVisit, ParticipationHousehold
from service.ledger.models import LedgerAccount, Transfer
from service.people.models import User
from service.reports.groups import Groups
from service.tasks.models import Participation, Task

PLACE_FIGURES = (
    "tasks_published",
    "tasks_completed",
    "demands_received",
    "demands_closed",
    "demands_closed_on_time",
    "ratings",
    "average_rating",
)
WHISTLE_FIGURES = ("whistles_received", "whistles_acknowledged_on_time", "acknowledge_rate")
SCORES = range(1, 6)


@dataclass
class Counted:
    """One group's figures and the breakdowns behind them, as lists ready for charts."""

    figures: Figures
    tasks_by_category: list[dict[str, Any]] = field(default_factory=list)
    tasks_by_type: list[dict[str, Any]] = field(default_factory=list)
    demands_by_level: list[dict[str, Any]] = field(default_factory=list)
    rating_distribution: list[dict[str, Any]] = field(default_factory=list)
    top_volunteers: list[TopVolunteer] = field(default_factory=list)


@dataclass(frozen=True)
class TopVolunteer:
    user_id: int
    name: str
    hours: float
    participations: int


def count(
    session: Session, groups: Groups, spans: Sequence[Span], now: datetime, *, top: int = 0
) -> list[dict[int, Counted]]:
    """Every figure of every group over each span's days, in one pass over the rows of
    all of them (a report and the period it compares with are one scan, not two); a
    group with nothing in a period counts zeros, and a figure the scope has no place
    for (a department's own branches post no tasks) is None. With ``top``, the first
    span's groups name that many of their volunteers, most hours first."""
    periods = Periods(spans)
    tallies = [_Tally(groups.keys) for _ in spans]
    _participations(session, groups, periods, tallies, top)
    _households(session, groups, periods, tallies)
    _points(session, groups, periods, tallies)
    if groups.places is not None:
        _tasks(session, groups.places, periods, tallies)
        _demands(session, groups.places, periods, tallies)
        _ratings(session, groups.places, periods, tallies)
    if groups.places is not None or groups.departments is not None:
        _whistles(session, groups, periods, now, tallies)
    return [
        tally.finish(
            has_places=groups.places is not None,
            has_whistles=groups.places is not None or groups.departments is not None,
        )
        for tally in tallies
    ]


def within(column: Any, span: Span) -> ColumnElement[bool]:
    return and_(column >= span.starts_at, column < span.ends_at)


class Periods:
    """The spans a count covers, as SQL: which one a moment falls in (NULL for none),
    and one range over all of them for the WHERE, so an index on the moment serves."""

    def __init__(self, spans: Sequence[Span]) -> None:
        self.spans = spans

    def of(self, column: Any) -> ColumnElement[int]:
        return case(*[(within(column, span), i) for i, span in enumerate(self.spans)]).label(
            "period"
        )

    def over(self, column: Any) -> ColumnElement[bool]:
        first = min(span.starts_at for span in self.spans)
        end = max(span.ends_at for span in self.spans)
        return and_(column >= first, column < end)


def _number(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class _Tally:
    def __init__(self, keys: Iterable[int]) -> None:
        self.figures: dict[int, dict[str, Any]] = {key: defaultdict(int) for key in keys}
        self.categories: dict[int, dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0])
        )
        self.types: dict[int, dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0])
        )
        self.levels: dict[int, dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0, 0])
        )
        self.scores: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.whistles: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.top: dict[int, list[TopVolunteer]] = defaultdict(list)

    def add(self, grp: int, name: str, value: int | float) -> None:
        if grp in self.figures:  # rows of a group the report doesn't show are dropped
            self.figures[grp][name] += value

    def finish(self, *, has_places: bool, has_whistles: bool) -> dict[int, Counted]:
        return {key: self._one(key, has_places, has_whistles) for key in self.figures}

    def _one(self, key: int, has_places: bool, has_whistles: bool) -> Counted:
        counted = self.figures[key]
        figures: Figures = {
            name: counted[name]
            for name in (
                "participations_approved",
                "volunteers",
                "volunteers_members",
                "volunteers_volunteers",
                "households_visited",
                "residents_helped",
                "jifen_issued",
                "xingfubi_issued",
                "xingfubi_redeemed",
                "jifen_expired",
                "xingfubi_expired",
            )
        }
        figures["volunteer_hours"] = round(float(counted["volunteer_hours"]), 2)
        received, due, on_time = self.whistles[key]
        figures["whistles_received"] = received
        figures["whistles_acknowledged_on_time"] = on_time
        figures["acknowledge_rate"] = acknowledge_rate(on_time, due)
        scores = self.scores[key]
        rated = sum(scores.values())
        figures["ratings"] = rated
        figures["average_rating"] = (
            round(sum(score * n for score, n in scores.items()) / rated, 2) if rated else None
        )
        for name in ("tasks_published", "tasks_completed", "demands_received"):
            figures[name] = counted[name]
        figures["demands_closed"] = counted["demands_closed"]
        figures["demands_closed_on_time"] = counted["demands_closed_on_time"]
        if not has_places:
            for name in PLACE_FIGURES:
                figures[name] = None
        if not has_whistles:
            for name in WHISTLE_FIGURES:
                figures[name] = None
        categories, types, levels = self.categories[key], self.types[key], self.levels[key]
        return Counted(
            figures=figures,
            tasks_by_category=[
                {"category": c.value, "label": c.label, "published": p, "completed": d}
                for c in Category
                for p, d in [categories.get(c.value, [0, 0])]
            ],
            tasks_by_type=[
                {"type": t.value, "label": t.label, "published": p, "completed": d}
                for t in TaskType
                for p, d in [types.get(t.value, [0, 0])]
            ],
            demands_by_level=[
                {
                    "level": level,
                    "label": LEVEL_LABELS[DemandLevel(level)] if level else "未分级",
                    "received": r,
                    "closed": c,
                    "closed_on_time": o,
                }
                for level in [*(lv.value for lv in DemandLevel), ""]
                for r, c, o in [levels.get(level, [0, 0, 0])]
            ],
            rating_distribution=[{"score": s, "count": scores.get(s, 0)} for s in SCORES],
            top_volunteers=self.top[key],
        )


def _participations(
    session: Session, groups: Groups, periods: Periods, tallies: list[_Tally], top: int
) -> None:
    """Approved work by when it was approved. Summed per person first, before anything
    is joined to it (a million pieces become a row per person, role and period), so
    the join to the scope's people and the distinct counts run over people, not
    pieces; the top volunteers are read from the same per-person rows, in the same
    statement."""
    p = Participation
    helped = case((Task.work_unit == WorkUnit.RESIDENTS_HELPED.value, p.units), else_=0)
    period = periods.of(p.decided_at)
    per_person = (
        select(
            period,
            p.user_id,
            p.role,
            func.count(p.id).label("pieces"),
            func.coalesce(func.sum(p.hours), 0).label("hours"),
            func.coalesce(func.sum(helped), 0).label("helped"),
        )
        .join(Task, Task.id == p.task_id)
        .where(p.status == ParticipationStatus.APPROVED.value, periods.over(p.decided_at))
        .group_by(period, p.user_id, p.role)
        .cte("per_person")
    )
    w = per_person.c
    people = groups.people.subquery("people")
    nobody = literal(None, Integer)
    statement: Any = (
        select(
            literal("figures").label("part"),
            w.period,
            people.c.grp,
            nobody.label("user_id"),
            literal(None, String).label("name"),
            func.sum(w.pieces).label("pieces"),
            func.count(distinct(w.user_id)).label("volunteers"),
            _number(w.role == "member").label("members"),
            _number(w.role == "volunteer").label("volunteers_only"),
            func.sum(w.hours).label("hours"),
            func.sum(w.helped).label("helped"),
        )
        .join(people, people.c.user_id == w.user_id)
        .group_by(w.period, people.c.grp)
    )
    if top:
        hours, pieces = func.sum(w.hours), func.sum(w.pieces)
        best = (
            select(
                literal("top").label("part"),
                w.period,
                people.c.grp,
                w.user_id,
                User.name,
                pieces.label("pieces"),
                nobody,
                nobody,
                nobody,
                hours.label("hours"),
                nobody,
            )
            .join(people, people.c.user_id == w.user_id)
            .join(User, User.id == w.user_id)
            .where(w.period == 0)
            .group_by(w.period, people.c.grp, w.user_id, User.name)
            .order_by(hours.desc(), pieces.desc(), w.user_id)
            .limit(top)
            .subquery("best")
        )
        statement = union_all(statement, select(best))
    for row in session.execute(statement):
        tally = _in(tallies, row.period)
        if row.part == "top":
            volunteer = TopVolunteer(row.user_id, row.name, float(row.hours), int(row.pieces))
            tally.top[row.grp].append(volunteer)
            continue
        # PostgreSQL sums whole numbers as numeric: only the hours have a fraction.
        tally.add(row.grp, "participations_approved", int(row.pieces))
        tally.add(row.grp, "volunteers", int(row.volunteers))
        tally.add(row.grp, "volunteers_members", int(row.members))
        tally.add(row.grp, "volunteers_volunteers", int(row.volunteers_only))
        tally.add(row.grp, "volunteer_hours", float(row.hours))
        tally.add(row.grp, "residents_helped", int(row.helped))


def _in(tallies: list[_Tally], index: int | None) -> _Tally:
    # A row outside every span (between two that don't touch) has no tally: a scratch one.
    return tallies[index] if index is not None else _Tally(())


def _households(session: Session, groups: Groups, periods: Periods, tallies: list[_Tally]) -> None:
    """Distinct households reached: visits staff confirmed, and the households an
    approved piece of work names (a household reached twice counts once)."""
    people = groups.people.subquery("people")
    visit_period = periods.of(HouseholdVisit.visited_at)
    visited = (
        select(visit_period, people.c.grp, HouseholdVisit.household_id)
        .join(people, people.c.user_id == HouseholdVisit.visitor_id)
        .where(
            HouseholdVisit.status == VisitStatus.CONFIRMED.value,
            periods.over(HouseholdVisit.visited_at),
        )
    )
    work_period = periods.of(Participation.decided_at)
    reached = (
        select(work_period, people.c.grp, ParticipationHousehold.household_id)
        .join(Participation, Participation.id == ParticipationHousehold.participation_id)
        .join(people, people.c.user_id == Participation.user_id)
        .where(
            Participation.status == ParticipationStatus.APPROVED.value,
            periods.over(Participation.decided_at),
        )
    )
    both = union(visited, reached).subquery("households")
    statement = select(both.c.period, both.c.grp, func.count()).group_by(both.c.period, both.c.grp)
    for index, grp, households in session.execute(statement):
        _in(tallies, index).add(grp, "households_visited", households)


_ISSUED = (TransferKind.EARN.value, TransferKind.AWARD.value)
_TAKEN = {TransferKind.REDEEM_POST.value: "redeemed", TransferKind.EXPIRE.value: "expired"}


def _points(session: Session, groups: Groups, periods: Periods, tallies: list[_Tally]) -> None:
    """积分 and 幸福币 credited to the people by rule or by hand, and taken from them by
    a handed-over redemption or by expiry, as the ledger's transfers record them: one
    scan, each transfer joined to the person on the side that concerns them."""
    theirs = case(
        (Transfer.kind.in_(_ISSUED), Transfer.credit_account_id), else_=Transfer.debit_account_id
    )
    period = periods.of(Transfer.created_at)
    # Summed per account first: the join to accounts and people runs over accounts.
    per_account = (
        select(
            period,
            theirs.label("account_id"),
            Transfer.kind,
            Transfer.currency,
            func.sum(Transfer.amount).label("amount"),
        )
        .where(Transfer.kind.in_([*_ISSUED, *_TAKEN]), periods.over(Transfer.created_at))
        .group_by(period, theirs, Transfer.kind, Transfer.currency)
        .subquery("per_account")
    )
    a = per_account.c
    people = groups.people.subquery("people")
    statement = (
        select(a.period, people.c.grp, a.kind, a.currency, func.sum(a.amount))
        .join(LedgerAccount, LedgerAccount.id == a.account_id)
        .join(people, people.c.user_id == LedgerAccount.user_id)
        .group_by(a.period, people.c.grp, a.kind, a.currency)
    )
    for index, grp, kind, currency, amount in session.execute(statement):
        name = f"{currency}_issued" if kind in _ISSUED else f"{currency}_{_TAKEN[kind]}"
        if name != "jifen_redeemed":  # 积分 is never spent; nothing to show
            _in(tallies, index).add(grp, name, int(amount))


_SHOWN = (TaskStatus.PUBLISHED.value, TaskStatus.CLOSED.value)


def _tasks(session: Session, places: Select[Any], periods: Periods, tallies: list[_Tally]) -> None:
    """Tasks published (or since closed) whose start falls in the period; completed are
    those closed, that is, finished normally rather than called off."""
    where = places.subquery("places")
    period = periods.of(Task.starts_at)
    statement = (
        select(
            period,
            where.c.grp,
            Task.category,
            Task.type,
            func.count(Task.id),
            _number(Task.status == TaskStatus.CLOSED.value),
        )
        .join(where, where.c.place_id == Task.place_id)
        .where(Task.status.in_(_SHOWN), periods.over(Task.starts_at))
        .group_by(period, where.c.grp, Task.category, Task.type)
    )
    for index, grp, category, kind, published, completed in session.execute(statement):
        tally = _in(tallies, index)
        tally.add(grp, "tasks_published", published)
        tally.add(grp, "tasks_completed", completed)
        for breakdown, key in ((tally.categories, category), (tally.types, kind)):
            counts = breakdown[grp][key]
            counts[0] += published
            counts[1] += completed


def _demands(
    session: Session, places: Select[Any], periods: Periods, tallies: list[_Tally]
) -> None:
    """Demands sent in during the period, and those closed (销号) in it; closed on time
    is closed with no stage ever past its deadline: none noted by the overdue sweep,
    and resolved by its resolve deadline."""
    where = places.subquery("places")
    level = func.coalesce(Demand.level, "")
    sent_in = periods.of(Demand.created_at)
    received = (
        select(sent_in, where.c.grp, level, func.count(Demand.id))
        .join(where, where.c.place_id == Demand.place_id)
        .where(periods.over(Demand.created_at))
        .group_by(sent_in, where.c.grp, level)
    )
    for index, grp, key, n in session.execute(received):
        tally = _in(tallies, index)
        tally.add(grp, "demands_received", n)
        tally.levels[grp][key][0] += n
    never_late = and_(
        ~exists().where(DemandOverdue.demand_id == Demand.id),
        or_(
            Demand.resolve_due_at.is_(None),
            Demand.resolved_at.is_(None),
            Demand.resolved_at <= Demand.resolve_due_at,
        ),
    )
    closed_in = periods.of(Demand.closed_at)
    closed = (
        select(closed_in, where.c.grp, level, func.count(Demand.id), _number(never_late))
        .join(where, where.c.place_id == Demand.place_id)
        .where(Demand.status == DemandStatus.CLOSED.value, periods.over(Demand.closed_at))
        .group_by(closed_in, where.c.grp, level)
    )
    for index, grp, key, n, on_time in session.execute(closed):
        tally = _in(tallies, index)
        tally.add(grp, "demands_closed", n)
        tally.add(grp, "demands_closed_on_time", on_time)
        tally.levels[grp][key][1] += n
        tally.levels[grp][key][2] += on_time


def _ratings(
    session: Session, places: Select[Any], periods: Periods, tallies: list[_Tally]
) -> None:
    """Residents' 1 to 5 for the demands of the places, by when they rated."""
    where = places.subquery("places")
    period = periods.of(DemandRating.created_at)
    statement = (
        select(period, where.c.grp, DemandRating.score, func.count(DemandRating.id))
        .join(Demand, Demand.id == DemandRating.demand_id)
        .join(where, where.c.place_id == Demand.place_id)
        .where(periods.over(DemandRating.created_at))
        .group_by(period, where.c.grp, DemandRating.score)
    )
    for index, grp, score, n in session.execute(statement):
        _in(tallies, index).scores[grp][score] += n


def _whistles(
    session: Session, groups: Groups, periods: Periods, now: datetime, tallies: list[_Tally]
) -> None:
    """吹哨报到 by when the whistle blew: those on the places' demands, or those to the
    department, counted the way the department's own whistle statistics count them."""
    columns = whistle_counts(now)
    period = periods.of(DemandWhistle.whistled_at)
    statements = []
    if groups.places is not None:
        where = groups.places.subquery("places")
        statements.append(
            select(period, where.c.grp, *columns)
            .select_from(DemandWhistle)
            .join(Demand, Demand.id == DemandWhistle.demand_id)
            .join(where, where.c.place_id == Demand.place_id)
            .where(periods.over(DemandWhistle.whistled_at))
            .group_by(period, where.c.grp)
        )
    if groups.departments is not None:
        to = groups.departments.subquery("departments")
        statements.append(
            select(period, to.c.grp, *columns)
            .select_from(DemandWhistle)
            .join(to, to.c.department_id == DemandWhistle.department_id)
            .where(periods.over(DemandWhistle.whistled_at))
            .group_by(period, to.c.grp)
        )
    for statement in statements:
        for row in session.execute(statement):
            counts = _in(tallies, row.period).whistles[row.grp]
            counts[0] += row.received
            counts[1] += row.due
            counts[2] += row.acknowledged_on_time
