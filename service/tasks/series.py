"""Recurring tasks (周期任务): staff post a series — a task's template and when it recurs
(points.recurrence) — and its occurrences are posted as ordinary published tasks, so
sign-up, check-in, approvals, the waitlist and reports work on them unchanged.

Occurrences are posted ahead by ``post_due`` (at creation, and by ``lianxin tasks
generate``), each once by the unique key (series, local day). Editing and ending a
series are in ``series_editing``; signing up for all of it in ``series_signups``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, place_prefixes, require
from points.calendar import local_date
from points.errors import InvalidInput, NotFound
from points.geo import check_point
from points.recurrence import (
    DEFAULT_HORIZON_DAYS,
    Frequency,
    Recurrence,
    SeriesStatus,
    check_recurrence,
    due_dates,
    occurrence_window,
)
from points.rules import Category, TaskType, WorkUnit
from points.tasks import (
    Audience,
    CheckinMode,
    TaskStatus,
)
from service.places.models import Place
from service.places.tree import named_place
from service.tasks.board import place_visible
from service.tasks.models import Task, TaskSeries
from service.tasks.series_members import enrol_members
from service.unit_of_work import UnitOfWork

TEMPLATE_FIELDS = (
    "place_id",
    "title",
    "description",
    "category",
    "type",
    "address",
    "lat",
    "lng",
    "radius_m",
    "capacity",
    "audience",
    "checkin_mode",
    "work_unit",
)


@dataclass(frozen=True)
class NewSeries:
    place_id: int
    title: str
    category: Category
    type: TaskType
    lat: float
    lng: float
    radius_m: int
    capacity: int
    audience: Audience
    checkin_mode: CheckinMode
    work_unit: WorkUnit
    frequency: Frequency
    first_date: date
    start_time: time
    duration_minutes: int
    weekdays: tuple[int, ...] = ()
    interval_days: int | None = None
    until: date | None = None
    count: int | None = None
    description: str = ""
    address: str = ""


@dataclass(frozen=True)
class SeriesView:
    series: TaskSeries
    upcoming: list[Task]  # occurrences not yet over, soonest first


def recurrence_of(series: TaskSeries) -> Recurrence:
    return Recurrence(
        frequency=Frequency(series.frequency),
        first_date=series.first_date,
        start_time=series.start_time,
        duration=timedelta(minutes=series.duration_minutes),
        weekdays=frozenset(series.weekdays),
        interval_days=series.interval_days,
        until=series.until,
        count=series.count,
    )


def _rule_of(spec: NewSeries) -> Recurrence:
    return Recurrence(
        frequency=spec.frequency,
        first_date=spec.first_date,
        start_time=spec.start_time,
        duration=timedelta(minutes=spec.duration_minutes),
        weekdays=frozenset(spec.weekdays),
        interval_days=spec.interval_days,
        until=spec.until,
        count=spec.count,
    )


def create_series(uow: UnitOfWork, actor: Actor, spec: NewSeries, now: datetime) -> SeriesView:
    """Post a series at a place the actor manages, and its occurrences due within the
    default horizon at once (the generator posts the rest as their days come near)."""
    check_point(spec.lat, spec.lng)
    check_recurrence(_rule_of(spec))
    if spec.first_date < local_date(now):
        raise InvalidInput("a series starts today or later", errors={"first_date": ["in the past"]})
    with uow:
        session = uow.session
        place = named_place(session, spec.place_id)
        require(actor, Action.MANAGE_TASKS, Target(place_path=place.path), what="place")
        fields: dict[str, Any] = {
            name: value.value if isinstance(value, StrEnum) else value
            for name, value in vars(spec).items()
        }
        fields["weekdays"] = sorted(spec.weekdays)
        series = TaskSeries(**fields, status=SeriesStatus.ACTIVE.value, created_by_id=actor.user_id)
        session.add(series)
        session.flush()
        post_due(session, series, now, DEFAULT_HORIZON_DAYS)
        uow.commit()
        return series_view(session, actor, series, now)


def post_due(session: Session, series: TaskSeries, now: datetime, horizon_days: int) -> list[Task]:
    """Post the occurrences due within ``horizon_days`` that are not posted yet and have
    not started, and sign the series' members up for each. A day another generator
    posted a moment ago is skipped by the unique key, not posted twice.

    The series' row is locked first (and read afresh): an edit, its end, or a member
    joining or leaving at the same moment waits for the posting, or the posting for
    them, so nobody joins between an occurrence being posted and its members enrolled."""
    session.refresh(series, with_for_update=True)
    if series.status != SeriesStatus.ACTIVE.value:
        return []
    rule = recurrence_of(series)
    posted = set(session.scalars(select(Task.occurrence_date).where(Task.series_id == series.id)))
    created = []
    for day in due_dates(rule, local_date(now), horizon_days):
        starts_at, ends_at = occurrence_window(rule, day)
        if day in posted or starts_at <= now:
            continue
        task = Task(
            **{name: getattr(series, name) for name in TEMPLATE_FIELDS},
            starts_at=starts_at,
            ends_at=ends_at,
            status=TaskStatus.PUBLISHED.value,
            created_by_id=series.created_by_id,
            series_id=series.id,
            occurrence_date=day,
        )
        try:
            with session.begin_nested():
                session.add(task)
                session.flush()
        except IntegrityError:
            continue  # posted by another run: it signed the members up
        enrol_members(session, series.id, task, now)
        created.append(task)
    return created


def staff_series(session: Session, actor: Actor, series_id: int, now: datetime) -> TaskSeries:
    """A series the actor may manage; one they can't see stays a 404, not a 403."""
    series = visible_series(session, actor, series_id, now)
    path = named_place(session, series.place_id).path
    require(actor, Action.MANAGE_TASKS, Target(place_path=path), what="series")
    return series


def visible_series(session: Session, actor: Actor, series_id: int, now: datetime) -> TaskSeries:
    """Staff see the series in their scope; members those where they would see its
    tasks (an ended one too: its published occurrences stay on their lists)."""
    series = session.get(TaskSeries, series_id, populate_existing=True)
    if series is None or not place_visible(session, actor, series.place_id, now, True):
        raise NotFound("series not found")
    return series


def upcoming_occurrences(
    session: Session, actor: Actor, series: TaskSeries, now: datetime, limit: int = 50
) -> list[Task]:
    query = select(Task).where(Task.series_id == series.id, Task.ends_at > now)
    manages = place_visible(session, actor, series.place_id, now, open_to_members=False)
    if not manages:  # members see only what is published
        query = query.where(Task.status == TaskStatus.PUBLISHED.value)
    return list(session.scalars(query.order_by(Task.starts_at, Task.id).limit(limit)))


def series_view(session: Session, actor: Actor, series: TaskSeries, now: datetime) -> SeriesView:
    session.refresh(series)
    return SeriesView(series, upcoming_occurrences(session, actor, series, now))


def get_series(session: Session, actor: Actor, series_id: int, now: datetime) -> SeriesView:
    return series_view(session, actor, visible_series(session, actor, series_id, now), now)


def list_series(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    place_id: int | None,
    status: SeriesStatus | None,
    limit: int,
    offset: int,
) -> list[TaskSeries]:
    """The series the actor manages, newest first (members find occurrences as tasks,
    and a series from any of them)."""
    managed = place_prefixes(actor, Action.MANAGE_TASKS)
    if not managed:
        return []
    conditions: list[ColumnElement[bool]] = []
    if place_id is not None:
        conditions.append(Place.path.startswith(named_place(session, place_id).path))
    if status is not None:
        conditions.append(TaskSeries.status == status.value)
    query = (
        select(TaskSeries)
        .join(Place, Place.id == TaskSeries.place_id)
        .where(*conditions)
        .where(or_(*(Place.path.startswith(prefix) for prefix in managed)))
        .order_by(TaskSeries.id.desc())
    )
    return list(session.scalars(query.offset(offset).limit(limit)))
