"""Recurring tasks (周期任务): staff post a series — a task's template and when it recurs
(points.recurrence) — and its occurrences are posted as ordinary published tasks, so
sign-up, check-in, approvals, the waitlist and reports work on them unchanged.

Occurrences are posted ahead by ``post_due`` (at creation, and by ``lianxin tasks
generate``), each once by the unique key (series, local day). Editing a series changes
its template and the occurrences to come that have not started and nobody checked in
to, by the same rules as editing a task; ending it cancels those occurrences.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, place_prefixes, require
from points.calendar import local_date
from points.errors import Conflict, InvalidInput, NotFound
from points.geo import check_point
from points.lifecycle import transition
from points.recurrence import (
    DEFAULT_HORIZON_DAYS,
    SERIES_TRANSITIONS,
    Frequency,
    Recurrence,
    SeriesAction,
    SeriesEnded,
    SeriesStatus,
    check_recurrence,
    due_dates,
    occurrence_number,
    occurrence_window,
)
from points.rules import Category, TaskType, WorkUnit
from points.tasks import (
    Audience,
    CapacityBelowSignUps,
    CheckinMode,
    TaskAction,
    TaskHasSignUps,
    TaskStatus,
    TaskUnderWay,
    check_edit,
    fixed_by_seats,
)
from service.db import rows_changed
from service.lifecycle import move_status
from service.places.models import Place
from service.places.tree import named_place
from service.tasks.board import move_task, place_visible
from service.tasks.editing import apply_edit, check_values, task_progress
from service.tasks.models import Task, TaskSeries
from service.tasks.series_members import enrol_members
from service.unit_of_work import UnitOfWork


class SeriesChanged(Conflict):
    code = "series_changed"


# What each occurrence copies from its series, as the task names it.
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
RECURRENCE_EDITS = frozenset(
    {"weekdays", "interval_days", "start_time", "duration_minutes", "until", "count"}
)
EDITABLE_SERIES_FIELDS = frozenset(TEMPLATE_FIELDS) | RECURRENCE_EDITS
_OPEN_TASK = (TaskStatus.DRAFT.value, TaskStatus.PUBLISHED.value)
_SHOWN_AS = {"place_id": "org_id"}


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
class SeriesEdit:
    """The version the editor saw, the fields to change, and a note for those signed up
    to the occurrences it changes."""

    version: int
    changes: Mapping[str, object]
    note: str = ""


@dataclass(frozen=True)
class SeriesView:
    series: TaskSeries
    upcoming: list[Task]  # occurrences not yet over, soonest first


@dataclass(frozen=True)
class KeptOccurrence:
    """An occurrence an edit left (partly) as it was, and why (an error's code)."""

    task_id: int
    occurrence_date: date
    fields: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class SeriesOutcome:
    """A series after an edit or its end, and what that did to its occurrences."""

    view: SeriesView
    updated: list[int]
    kept: list[KeptOccurrence]
    cancelled: list[int]


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


def _future_occurrences(session: Session, series_id: int, now: datetime) -> list[Task]:
    """Occurrences still to come and open: what an edit or the end may touch."""
    return list(
        session.scalars(
            select(Task)
            .where(
                Task.series_id == series_id,
                Task.starts_at > now,
                Task.status.in_(_OPEN_TASK),
            )
            .order_by(Task.starts_at, Task.id)
        )
    )


def edit_series(
    uow: UnitOfWork, actor: Actor, series_id: int, edit: SeriesEdit, now: datetime
) -> SeriesOutcome:
    unknown = set(edit.changes) - EDITABLE_SERIES_FIELDS
    if unknown:
        raise ValueError(f"not series fields one edits: {sorted(unknown)}")  # the edge's bug
    if not edit.changes:
        raise InvalidInput("say what to change", errors={"_schema": ["no field to change"]})
    with uow:
        session = uow.session
        series = staff_series(session, actor, series_id, now)
        if series.status != SeriesStatus.ACTIVE.value:
            raise SeriesEnded("this series has ended; post a new one")
        wanted = {
            name: value.value if isinstance(value, StrEnum) else value
            for name, value in edit.changes.items()
        }
        if "weekdays" in wanted:
            wanted["weekdays"] = sorted(set(wanted["weekdays"]))  # type: ignore[call-overload]
        if "place_id" in wanted:
            place_id = wanted["place_id"]
            if not isinstance(place_id, int):
                raise TypeError("place_id is an id")  # the edge's bug
            place = named_place(session, place_id)
            require(actor, Action.MANAGE_TASKS, Target(place_path=place.path), what="place")
        if series.version != edit.version:
            raise SeriesChanged(
                f"this series is at version {series.version}, not {edit.version}; reload it"
            )
        changed = {
            name: (getattr(series, name), value)
            for name, value in wanted.items()
            if getattr(series, name) != value
        }
        if not changed:
            return SeriesOutcome(series_view(session, actor, series, now), [], [], [])
        rule = _edited_rule(series, {name: new for name, (_, new) in changed.items()})
        check_recurrence(rule)
        if {"lat", "lng"} & changed.keys():
            check_point(
                changed.get("lat", (0, series.lat))[1],  # type: ignore[arg-type]
                changed.get("lng", (0, series.lng))[1],  # type: ignore[arg-type]
            )
        done = session.execute(
            update(TaskSeries)
            .where(
                TaskSeries.id == series.id,
                TaskSeries.version == edit.version,
                TaskSeries.status == SeriesStatus.ACTIVE.value,
            )
            .values(
                {
                    **{name: new for name, (_, new) in changed.items()},
                    "version": TaskSeries.version + 1,
                    "updated_at": now,
                }
            )
            .execution_options(synchronize_session=False)
        )
        if rows_changed(done) != 1:
            raise SeriesChanged("someone changed this series a moment ago; reload it")
        updated, kept, cancelled = _edit_occurrences(
            uow, actor, series.id, rule, changed, edit.note, now
        )
        session.refresh(series)
        post_due(session, series, now, DEFAULT_HORIZON_DAYS)  # days the new rule adds
        uow.commit()
        return SeriesOutcome(series_view(session, actor, series, now), updated, kept, cancelled)


def _edited_rule(series: TaskSeries, new: Mapping[str, Any]) -> Recurrence:
    rule = recurrence_of(series)
    return replace(
        rule,
        weekdays=frozenset(new.get("weekdays", rule.weekdays)),
        interval_days=new.get("interval_days", rule.interval_days),
        start_time=new.get("start_time", rule.start_time),
        duration=timedelta(minutes=new.get("duration_minutes", series.duration_minutes)),
        until=new.get("until", rule.until),
        count=new.get("count", rule.count),
    )


def _edit_occurrences(
    uow: UnitOfWork,
    actor: Actor,
    series_id: int,
    rule: Recurrence,
    changed: Mapping[str, tuple[object, object]],
    note: str,
    now: datetime,
) -> tuple[list[int], list[KeptOccurrence], list[int]]:
    """Carry a series edit to each occurrence to come: one nobody checked in to takes
    what a task edit would let it take; the rest of the change it keeps as it was, and
    the outcome says which and why. A day the new rule no longer has is cancelled."""
    session = uow.session
    template = {name: new for name, (_, new) in changed.items() if name in TEMPLATE_FIELDS}
    retimed = bool({"start_time", "duration_minutes"} & changed.keys())
    updated: list[int] = []
    kept: list[KeptOccurrence] = []
    cancelled: list[int] = []
    for task in _future_occurrences(session, series_id, now):
        day = task.occurrence_date
        assert day is not None  # an occurrence has its day
        progress = task_progress(session, task)
        if progress.anyone_checked_in:
            fields = tuple(sorted(_SHOWN_AS.get(name, name) for name in changed))
            kept.append(KeptOccurrence(task.id, day, fields, TaskUnderWay.code))
            continue
        if occurrence_number(rule, day) is None:
            reason = "周期任务已调整，这一天不再安排" + (f"：{note}" if note else "")
            move_task(session, task, TaskAction.CANCEL, reason)
            cancelled.append(task.id)
            continue
        wanted = dict(template)
        if retimed:
            wanted["starts_at"], wanted["ends_at"] = occurrence_window(rule, day)
        occurrence = {
            name: (getattr(task, name), new)
            for name, new in wanted.items()
            if getattr(task, name) != new
        }
        held: list[str] = []
        reason = ""
        if progress.seats_taken:
            for name in sorted(fixed_by_seats(occurrence)):
                del occurrence[name]
                held.append(_SHOWN_AS.get(name, name))
                reason = TaskHasSignUps.code
            capacity = occurrence.get("capacity")
            if capacity is not None and int(capacity[1]) < progress.seats_taken:  # type: ignore[call-overload]
                del occurrence["capacity"]
                held.append("capacity")
                reason = reason or CapacityBelowSignUps.code
        if occurrence:
            check_values(task, occurrence, now)
            check_edit(progress, occurrence)
            apply_edit(uow, actor, task, task.version, occurrence, note, now)
            updated.append(task.id)
        if held:
            kept.append(KeptOccurrence(task.id, day, tuple(sorted(held)), reason))
    return updated, kept, cancelled


def end_series(
    uow: UnitOfWork, actor: Actor, series_id: int, reason: str, now: datetime
) -> SeriesOutcome:
    """End a series: nothing more is posted, and each occurrence to come that nobody
    checked in to is cancelled with the reason (those taking part are told)."""
    if not reason.strip():
        raise InvalidInput("say why the series ends", errors={"reason": ["required"]})
    with uow:
        session = uow.session
        series = staff_series(session, actor, series_id, now)
        current = SeriesStatus(series.status)
        target = transition(SERIES_TRANSITIONS, current, SeriesAction.END)
        if not move_status(
            session, TaskSeries, series.id, current, target, end_reason=reason, ended_at=now
        ):
            raise SeriesChanged("someone changed this series a moment ago; reload it")
        cancelled: list[int] = []
        kept: list[KeptOccurrence] = []
        for task in _future_occurrences(session, series.id, now):
            assert task.occurrence_date is not None
            if task_progress(session, task).anyone_checked_in:
                kept.append(KeptOccurrence(task.id, task.occurrence_date, (), TaskUnderWay.code))
                continue
            move_task(session, task, TaskAction.CANCEL, reason)
            cancelled.append(task.id)
        uow.commit()
        return SeriesOutcome(series_view(session, actor, series, now), [], kept, cancelled)
