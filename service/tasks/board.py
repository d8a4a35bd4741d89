"""Posting tasks, moving them through their lifecycle, and who sees which."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, update
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, can, place_prefixes, require
from points.calendar import local_date
from points.errors import Conflict, InvalidInput, NotFound
from points.geo import check_point
from points.lifecycle import transition
from points.notices import Topic
from points.rules import Category, TaskType, WorkUnit
from points.tasks import (
    OPEN_PARTICIPATION_STATES,
    PARTICIPATION_TRANSITIONS,
    TASK_TRANSITIONS,
    Audience,
    CheckinMode,
    ParticipationAction,
    TaskAction,
    TaskStatus,
)
from service.demands.serving import assign_to_task, servable_demand
from service.lifecycle import move_status
from service.notices import tell
from service.people.belonging import home_places
from service.places.models import Place
from service.places.tree import named_place
from service.tasks.households import check_households_here
from service.tasks.models import Participation, Task
from service.unit_of_work import UnitOfWork


class TaskChanged(Conflict):
    code = "task_changed"


MEMBER_VISIBLE = (TaskStatus.PUBLISHED.value, TaskStatus.CLOSED.value)


@dataclass(frozen=True)
class NewTask:
    place_id: int
    title: str
    category: Category
    type: TaskType
    lat: float
    lng: float
    radius_m: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    audience: Audience
    checkin_mode: CheckinMode
    work_unit: WorkUnit
    description: str = ""
    address: str = ""
    demand_id: int | None = None
    household_id: int | None = None  # the one door it is for (送菜上门)
    publish: bool = False


@dataclass(frozen=True)
class TaskFilter:
    status: TaskStatus | None = None
    category: Category | None = None
    type: TaskType | None = None
    place_id: int | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    near: tuple[float, float] | None = None


def create_task(uow: UnitOfWork, actor: Actor, spec: NewTask, now: datetime) -> Task:
    with uow:
        task = post_task(uow.session, actor, spec, now)
        uow.commit()
        return task


def post_task(session: Session, actor: Actor, spec: NewTask, now: datetime) -> Task:
    """Post a task in the caller's transaction: for a demand it serves, its owner now."""
    check_point(spec.lat, spec.lng)
    if spec.ends_at <= spec.starts_at:
        raise InvalidInput("a task ends after it starts", errors={"ends_at": ["before starts_at"]})
    if spec.ends_at <= now:
        raise InvalidInput("this task would be over already", errors={"ends_at": ["in the past"]})
    place = named_place(session, spec.place_id)
    require(actor, Action.MANAGE_TASKS, Target(place_path=place.path), what="place")
    served = servable_demand(session, actor, spec.demand_id) if spec.demand_id else None
    if spec.household_id is not None:
        check_households_here(session, place, [spec.household_id], field="household_id")
    fields: dict[str, Any] = {
        name: value.value if isinstance(value, StrEnum) else value
        for name, value in vars(spec).items()
        if name != "publish"
    }
    status = TaskStatus.PUBLISHED if spec.publish else TaskStatus.DRAFT
    task = Task(**fields, status=status.value, created_by_id=actor.user_id)
    session.add(task)
    session.flush()
    if served is not None:
        assign_to_task(session, actor, served, task.id, now)
    return task


def staff_task(session: Session, actor: Actor, task_id: int, now: datetime) -> Task:
    """A task the actor may manage; a draft they can't see stays a 404, not a 403."""
    task = get_task(session, actor, task_id, now)
    require(
        actor,
        Action.MANAGE_TASKS,
        Target(place_path=named_place(session, task.place_id).path),
        what="task",
    )
    return task


def change_status(
    uow: UnitOfWork,
    actor: Actor,
    task_id: int,
    action: TaskAction,
    now: datetime,
    reason: str | None = None,
) -> Task:
    with uow:
        session = uow.session
        task = staff_task(session, actor, task_id, now)
        move_task(session, task, action, reason)
        uow.commit()
        session.refresh(task)
        return task


def move_task(session: Session, task: Task, action: TaskAction, reason: str | None = None) -> None:
    """Move a task the caller may manage along its table, in the caller's transaction;
    a cancellation tells everyone taking part why and closes their parts."""
    current = TaskStatus(task.status)
    target = transition(TASK_TRANSITIONS, current, action)
    if action is TaskAction.CANCEL and not (reason and reason.strip()):
        raise InvalidInput("say why the task is cancelled", errors={"reason": ["required"]})
    # Conditional: two staff pressing buttons at once can't both move it.
    why = {"cancel_reason": reason} if action is TaskAction.CANCEL else {}
    if not move_status(session, Task, task.id, current, target, **why):
        raise TaskChanged("someone changed this task a moment ago; reload it")
    if action is TaskAction.CANCEL:
        _tell_cancelled(session, task, reason or "")
        _close_open_participations(session, task.id)


def _tell_cancelled(session: Session, task: Task, reason: str) -> None:
    """Everyone still taking part hears of it (read before their parts are closed)."""
    people = session.scalars(
        select(Participation.user_id).where(
            Participation.task_id == task.id,
            Participation.status.in_([state.value for state in OPEN_PARTICIPATION_STATES]),
        )
    )
    facts: dict[str, str | int] = {
        "task_id": task.id,
        "task_title": task.title,
        "reason": reason.strip(),
    }
    tell(session, Topic.TASK_CANCELLED, people, facts, source=f"task:{task.id}:cancelled")


def _close_open_participations(session: Session, task_id: int) -> None:
    """A cancelled task ends the part of everyone still taking part; finished work
    (approved, rejected) keeps its outcome. Each move is the one the table gives."""
    for state in OPEN_PARTICIPATION_STATES:
        target = transition(PARTICIPATION_TRANSITIONS, state, ParticipationAction.TASK_CANCELLED)
        session.execute(
            update(Participation)
            .where(Participation.task_id == task_id, Participation.status == state.value)
            .values(status=target.value)
            .execution_options(synchronize_session=False)
        )


def get_task(session: Session, actor: Actor, task_id: int, now: datetime) -> Task:
    """A task the actor may see ``now``: pairings, and so paired communities, are dated."""
    task = session.get(Task, task_id)
    if task is None or not _visible(session, actor, task, now):
        raise NotFound("task not found")
    return task


def _visible(session: Session, actor: Actor, task: Task, now: datetime) -> bool:
    return place_visible(session, actor, task.place_id, now, task.status in MEMBER_VISIBLE)


def place_visible(
    session: Session, actor: Actor, place_id: int, now: datetime, open_to_members: bool
) -> bool:
    """Whether the actor sees what is posted at a place: staff anything in their scope,
    members what is open to them where they live or serve (a series follows its tasks)."""
    path = named_place(session, place_id).path
    if can(actor, Action.MANAGE_TASKS, Target(place_path=path)):
        return True
    if not open_to_members:
        return False
    prefixes, above = home_places(session, actor.user_id, local_date(now))
    return any(path.startswith(p) for p in prefixes) or path in above


def list_tasks(
    session: Session,
    actor: Actor,
    wanted: TaskFilter,
    now: datetime,
    *,
    limit: int,
    offset: int,
) -> list[Task]:
    """Tasks the actor may see ``now``, soonest first (or nearest first with ``near``)."""
    managed = place_prefixes(actor, Action.MANAGE_TASKS)
    prefixes, above = home_places(session, actor.user_id, local_date(now))
    as_staff = or_(false(), *(Place.path.startswith(p) for p in managed))
    as_member = and_(
        Task.status.in_(MEMBER_VISIBLE),
        or_(false(), Place.path.in_(above), *(Place.path.startswith(p) for p in prefixes)),
    )
    query = select(Task).join(Place, Place.id == Task.place_id).where(or_(as_staff, as_member))
    conditions: list[ColumnElement[bool]] = []
    if wanted.status is not None:
        conditions.append(Task.status == wanted.status.value)
    if wanted.category is not None:
        conditions.append(Task.category == wanted.category.value)
    if wanted.type is not None:
        conditions.append(Task.type == wanted.type.value)
    if wanted.place_id is not None:
        conditions.append(Place.path.startswith(named_place(session, wanted.place_id).path))
    if wanted.starts_from is not None:
        conditions.append(Task.starts_at >= wanted.starts_from)
    if wanted.starts_before is not None:
        conditions.append(Task.starts_at < wanted.starts_before)
    query = query.where(*conditions)
    if wanted.near is not None:
        lat, lng = wanted.near
        check_point(lat, lng)
        # Squared distance on a local plane: exact enough to order tasks within a city,
        # and plain arithmetic, so SQLite and PostgreSQL sort alike.
        squeeze = math.cos(math.radians(lat))
        dlat, dlng = Task.lat - lat, (Task.lng - lng) * squeeze
        query = query.order_by(dlat * dlat + dlng * dlng, Task.id)
    else:
        query = query.order_by(Task.starts_at, Task.id)
    return list(session.scalars(query.offset(offset).limit(limit)))
