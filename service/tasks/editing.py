"""Editing a task after it was posted (a typo, a later start, more seats), within what
its life so far allows (``points.tasks.check_edit``), and what it changed, kept for
those who signed up.

An edit names the version of the task it was made against. The UPDATE that makes it
re-checks, in its WHERE, that version and the facts the rules were judged on (the
task still open, seats and check-ins as they were), so two edits made at once can't
both land and a sign-up or check-in meanwhile can't be overtaken: the second edit
changes nothing and is told to reload (409 ``task_changed``).

Each edit is kept as a ``TaskChange`` (field: before and after, who, when, a note) and
recorded as a durable ``TaskEdited`` event, whose handler (service/notifications)
tells the people signed up when it is handed out.

A check-in does not lock its task (it is the busiest write of a task day): one that
commits in the very instant an edit moves the window may still have been judged by
the old one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, require
from points.errors import InvalidInput
from points.geo import check_point
from points.tasks import (
    EDITABLE_TASK_FIELDS,
    EDITABLE_TASK_STATES,
    FIXED_ONCE_CHECKED_IN,
    TaskProgress,
    TaskStatus,
    check_edit,
    fixed_by_seats,
)
from service.db import rows_changed
from service.outbox.events import Durable
from service.places.tree import named_place
from service.tasks.board import TaskChanged, get_task, staff_task
from service.tasks.models import Participation, Task, TaskChange
from service.tasks.waitlist import offer_free_seats
from service.unit_of_work import UnitOfWork

# Fields as the API names them, in change records (a task's place is its org_id there).
_SHOWN_AS = {"place_id": "org_id"}


@dataclass(frozen=True)
class TaskEdit:
    """What an editor asks: the version they saw, the fields to change (enums given as
    their values) and, optionally, a note for those signed up ("改到下午三点，因下雨")."""

    version: int
    changes: Mapping[str, object]
    note: str = ""


@dataclass(frozen=True, slots=True)
class TaskEdited(Durable, kind="task.edited"):
    """A task changed under the people signed up for it: the notifications tell them
    (who is signed up is read when it is handed out)."""

    task_id: int
    version: int
    fields: tuple[str, ...]

    def to_payload(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "version": self.version, "fields": list(self.fields)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        return cls(int(payload["task_id"]), int(payload["version"]), tuple(payload["fields"]))


def edit_task(uow: UnitOfWork, actor: Actor, task_id: int, edit: TaskEdit, now: datetime) -> Task:
    unknown = set(edit.changes) - EDITABLE_TASK_FIELDS
    if unknown:
        raise ValueError(f"not task fields one edits: {sorted(unknown)}")  # the edge's bug
    if not edit.changes:
        raise InvalidInput("say what to change", errors={"_schema": ["no field to change"]})
    with uow:
        session = uow.session
        task = staff_task(session, actor, task_id, now)
        wanted = {name: _stored(value) for name, value in edit.changes.items()}
        if "place_id" in wanted:
            # The new place must be one the editor manages too (404 outside their scope).
            place_id = wanted["place_id"]
            if not isinstance(place_id, int):
                raise TypeError("place_id is an id")  # the edge's bug
            place = named_place(session, place_id)
            require(actor, Action.MANAGE_TASKS, Target(place_path=place.path), what="place")
        if task.version != edit.version:
            raise TaskChanged(
                f"this task is at version {task.version}, not {edit.version}; reload it"
            )
        changed = {
            name: (getattr(task, name), value)
            for name, value in wanted.items()
            if getattr(task, name) != value
        }
        if not changed:
            return task  # as it was: no new version, nothing to tell anyone
        check_values(task, changed, now)
        check_edit(task_progress(session, task), changed)
        apply_edit(uow, actor, task, edit.version, changed, edit.note, now)
        uow.commit()
        session.refresh(task)
        return task


def apply_edit(
    uow: UnitOfWork,
    actor: Actor,
    task: Task,
    version: int,
    changed: Mapping[str, tuple[object, object]],
    note: str,
    now: datetime,
) -> None:
    """Make an edit already judged by ``check_edit``, in the unit of work's transaction:
    the conditional UPDATE, new places to the waitlist, the change kept and told. A
    series edit makes its occurrences' edits through here."""
    session = uow.session
    _apply(session, task, version, changed, now)
    before, after = changed.get("capacity", (0, 0))
    if isinstance(before, int) and isinstance(after, int) and after > before:
        # New places go to the waitlist first, in its order, in this transaction.
        session.refresh(task)
        offer_free_seats(session, task, now, after - before)
    fields = tuple(_SHOWN_AS.get(name, name) for name in changed)
    session.add(
        TaskChange(
            task_id=task.id,
            version=version + 1,
            changed_by_id=actor.user_id,
            changed_at=now,
            changes={
                _SHOWN_AS.get(name, name): {"before": _json(old), "after": _json(new)}
                for name, (old, new) in changed.items()
            },
            note=note,
        )
    )
    uow.record(TaskEdited(task.id, version + 1, fields))


def _stored(value: object) -> object:
    return value.value if isinstance(value, StrEnum) else value


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def check_values(task: Task, changed: Mapping[str, tuple[object, object]], now: datetime) -> None:
    """The rules a new task keeps (create_task's), for the task as it would be."""

    def after(name: str) -> Any:
        return changed[name][1] if name in changed else getattr(task, name)

    if {"lat", "lng"} & changed.keys():
        check_point(after("lat"), after("lng"))
    if {"starts_at", "ends_at"} & changed.keys():
        starts_at, ends_at = after("starts_at"), after("ends_at")
        if ends_at <= starts_at:
            raise InvalidInput(
                "a task ends after it starts", errors={"ends_at": ["before starts_at"]}
            )
        if ends_at <= now:
            raise InvalidInput(
                "this task would be over already", errors={"ends_at": ["in the past"]}
            )


def _anyone_checked_in(task_id: int) -> ColumnElement[bool]:
    return exists().where(
        Participation.task_id == task_id, Participation.checked_in_at.is_not(None)
    )


def task_progress(session: Session, task: Task) -> TaskProgress:
    checked_in = bool(session.scalar(select(_anyone_checked_in(task.id))))
    return TaskProgress(TaskStatus(task.status), task.signed_up_count, checked_in)


def _apply(
    session: Session,
    task: Task,
    version: int,
    changed: Mapping[str, tuple[object, object]],
    now: datetime,
) -> None:
    """One conditional UPDATE: the version edited, and every fact the rules were judged
    on, still as they were; else nothing changes and the editor is told to reload."""
    conditions: list[ColumnElement[bool]] = [
        Task.id == task.id,
        Task.version == version,
        Task.status.in_([status.value for status in EDITABLE_TASK_STATES]),
    ]
    if "capacity" in changed:
        conditions.append(Task.signed_up_count <= changed["capacity"][1])
    if FIXED_ONCE_CHECKED_IN & changed.keys():
        conditions.append(~_anyone_checked_in(task.id))
    if fixed_by_seats(changed):
        conditions.append(Task.signed_up_count == 0)
    done = session.execute(
        update(Task)
        .where(*conditions)
        .values(
            {
                **{name: new for name, (_, new) in changed.items()},
                "version": Task.version + 1,
                "updated_at": now,
            }
        )
        .execution_options(synchronize_session=False)
    )
    if rows_changed(done) != 1:
        raise TaskChanged("someone changed this task, or signed up, a moment ago; reload it")


def task_changes(
    session: Session, actor: Actor, task_id: int, now: datetime, *, limit: int, before: int | None
) -> list[TaskChange]:
    """The edits of a task the actor may see, newest first."""
    task = get_task(session, actor, task_id, now)
    query = select(TaskChange).where(TaskChange.task_id == task.id)
    if before is not None:
        query = query.where(TaskChange.version < before)
    return list(session.scalars(query.order_by(TaskChange.version.desc()).limit(limit)))
