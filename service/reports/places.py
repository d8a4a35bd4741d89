"""The places' side of a report: the tasks posted there, the demands sent in and
closed, residents' ratings and the whistles blown on them (or to a department)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from points.demands import DemandStatus
from points.tasks import TaskStatus
from service.demands.models import Demand, DemandOverdue, DemandRating, DemandWhistle
from service.demands.whistles import whistle_counts
from service.reports.groups import Groups
from service.reports.tally import Periods, Tally, number_of, tally_for
from service.tasks.models import Participation, ParticipationRating, Task

_SHOWN = (TaskStatus.PUBLISHED.value, TaskStatus.CLOSED.value)


def count_tasks(
    session: Session, places: Select[Any], periods: Periods, tallies: list[Tally]
) -> None:
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
            number_of(Task.status == TaskStatus.CLOSED.value),
        )
        .join(where, where.c.place_id == Task.place_id)
        .where(Task.status.in_(_SHOWN), periods.over(Task.starts_at))
        .group_by(period, where.c.grp, Task.category, Task.type)
    )
    for index, grp, category, kind, published, completed in session.execute(statement):
        tally = tally_for(tallies, index)
        tally.add(grp, "tasks_published", published)
        tally.add(grp, "tasks_completed", completed)
        for breakdown, key in ((tally.categories, category), (tally.types, kind)):
            counts = breakdown[grp][key]
            counts[0] += published
            counts[1] += completed


def count_demands(
    session: Session, places: Select[Any], periods: Periods, tallies: list[Tally]
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
        tally = tally_for(tallies, index)
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
        select(closed_in, where.c.grp, level, func.count(Demand.id), number_of(never_late))
        .join(where, where.c.place_id == Demand.place_id)
        .where(Demand.status == DemandStatus.CLOSED.value, periods.over(Demand.closed_at))
        .group_by(closed_in, where.c.grp, level)
    )
    for index, grp, key, n, on_time in session.execute(closed):
        tally = tally_for(tallies, index)
        tally.add(grp, "demands_closed", n)
        tally.add(grp, "demands_closed_on_time", on_time)
        tally.levels[grp][key][1] += n
        tally.levels[grp][key][2] += on_time


def count_ratings(
    session: Session, places: Select[Any], periods: Periods, tallies: list[Tally]
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
        tally_for(tallies, index).scores[grp][score] += n


def count_work_ratings(
    session: Session, places: Select[Any], periods: Periods, tallies: list[Tally]
) -> None:
    """Residents' 1 to 5 for the task work of the places that reached their households,
    by when they rated, and by the task's type."""
    where = places.subquery("places")
    period = periods.of(ParticipationRating.created_at)
    statement = (
        select(
            period,
            where.c.grp,
            Task.type,
            ParticipationRating.score,
            func.count(ParticipationRating.id),
        )
        .join(Participation, Participation.id == ParticipationRating.participation_id)
        .join(Task, Task.id == Participation.task_id)
        .join(where, where.c.place_id == Task.place_id)
        .where(periods.over(ParticipationRating.created_at))
        .group_by(period, where.c.grp, Task.type, ParticipationRating.score)
    )
    for index, grp, kind, score, n in session.execute(statement):
        tally = tally_for(tallies, index)
        tally.work_scores[grp][score] += n
        tally.work_types[grp][kind][0] += n
        tally.work_types[grp][kind][1] += score * n


def count_whistles(
    session: Session, groups: Groups, periods: Periods, now: datetime, tallies: list[Tally]
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
            counts = tally_for(tallies, row.period).whistles[row.grp]
            counts[0] += row.received
            counts[1] += row.due
            counts[2] += row.acknowledged_on_time
