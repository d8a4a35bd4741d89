"""Editing a series (周期任务) and ending it.

An edit changes the series' template and recurrence, and each occurrence to come that
has not started and nobody checked in to, by the rules of a task edit (check_edit): an
occurrence someone holds a seat on keeps its place and a narrower audience, and its
capacity if the seats taken exceed the new one; the outcome says which it kept and why.
A day the new recurrence no longer has is cancelled. Past occurrences and those under
way are never touched. Ending a series cancels its occurrences to come.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, require
from points.errors import Conflict, InvalidInput
from points.geo import check_point
from points.lifecycle import transition
from points.recurrence import (
    DEFAULT_HORIZON_DAYS,
    SERIES_TRANSITIONS,
    Recurrence,
    SeriesAction,
    SeriesEnded,
    SeriesStatus,
    check_recurrence,
    occurrence_number,
    occurrence_window,
)
from points.tasks import (
    CapacityBelowSignUps,
    TaskAction,
    TaskHasSignUps,
    TaskStatus,
    TaskUnderWay,
    check_edit,
    fixed_by_seats,
)
from service.db import rows_changed
from service.lifecycle import move_status
from service.places.tree import named_place
from service.tasks.board import move_task
from service.tasks.editing import apply_edit, check_values, task_progress
from service.tasks.models import Task, TaskSeries
from service.tasks.series import (
    TEMPLATE_FIELDS,
    SeriesView,
    post_due,
    recurrence_of,
    series_view,
    staff_series,
)
from service.unit_of_work import UnitOfWork


class SeriesChanged(Conflict):
    code = "series_changed"


# What each occurrence copies from its series, as the task names it.
RECURRENCE_EDITS = frozenset(
    {"weekdays", "interval_days", "start_time", "duration_minutes", "until", "count"}
)
EDITABLE_SERIES_FIELDS = frozenset(TEMPLATE_FIELDS) | RECURRENCE_EDITS
_OPEN_TASK = (TaskStatus.DRAFT.value, TaskStatus.PUBLISHED.value)
_SHOWN_AS = {"place_id": "org_id"}


@dataclass(frozen=True)
class SeriesEdit:
    """The version the editor saw, the fields to change, and a note for those signed up
    to the occurrences it changes."""

    version: int
    changes: Mapping[str, object]
    note: str = ""


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
