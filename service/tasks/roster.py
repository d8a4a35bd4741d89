"""A task's roster (报名名单) for its staff: everyone who took part or is in line, with
where each one got to — no-shows and their excuses included."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from points.access import Action, Actor, Target, require
from points.errors import NotFound
from service.people.models import User
from service.places.tree import named_place
from service.tasks.models import Participation, Task


def task_participations(
    session: Session, actor: Actor, task_id: int, limit: int, after_id: int | None
) -> list[Participation]:
    """The task's participations in sign-up order (by id), for staff of its place, each
    with its member loaded (``participation.member``)."""
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("task not found")
    path = named_place(session, task.place_id).path
    require(actor, Action.MANAGE_TASKS, Target(place_path=path), what="task")
    query = (
        select(Participation)
        .join(User, User.id == Participation.user_id)
        .where(Participation.task_id == task.id)
        # The member's name comes in the same statement: staff read the roster by name.
        .options(contains_eager(Participation.member))
        .order_by(Participation.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(Participation.id > after_id)
    return list(session.scalars(query))
