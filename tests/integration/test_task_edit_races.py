"""Real concurrency, on both backends: twenty edits of one version of a task at once,
and a task shrunk while people race to sign up for it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from api import extensions
from points.access import Role, ScopeType
from points.errors import DomainError
from points.places import PlaceLevel
from service.access import load_actor
from service.db import utcnow
from service.people.directory import ensure_grant
from service.people.models import User
from service.places.tree import add_place
from service.tasks.editing import TaskEdit, edit_task
from service.tasks.models import Participation, Task, TaskChange
from service.tasks.signups import sign_up
from service.unit_of_work import UnitOfWork
from tests.all_at_once import all_at_once
from tests.api.world import demo_task
from tests.conftest import AppFactory


@pytest.fixture
def racing_app(make_app: AppFactory) -> Flask:
    return make_app(db_pool_size=30)


def community(app: Flask, members: int) -> dict[str, object]:
    with app.app_context():
        session = extensions.session()
        street = add_place(session, None, "街道", PlaceLevel.STREET)
        town = add_place(session, street, "社区", PlaceLevel.COMMUNITY)
        staff = User(name="王芳")
        people = [User(name=f"党员{n}", residence_place_id=town.id) for n in range(members)]
        session.add_all([staff, *people])
        session.flush()
        ensure_grant(session, staff, Role.STAFF, ScopeType.PLACE, town.id)
        for person in people:
            ensure_grant(session, person, Role.MEMBER, ScopeType.PLACE, town.id)
        task = Task(
            **demo_task(town.id, capacity=20, starts_at=utcnow() + timedelta(days=1)),
            status="published",
            created_by_id=staff.id,
        )
        session.add(task)
        session.commit()
        return {"staff": staff.id, "members": [p.id for p in people], "task": task.id}


def racing(app: Flask, count: int, step: Callable[[UnitOfWork, int], object]) -> list[object]:
    def worker(index: int, go: Callable[[], None]) -> object:
        with app.app_context():
            uow = extensions.unit_of_work()
            go()
            try:
                return step(uow, index)
            except DomainError as error:
                return error

    return all_at_once(count, worker, timeout=60)


def test_twenty_edits_of_one_version_at_once_land_once(racing_app: Flask) -> None:
    ids = community(racing_app, 0)
    task_id = int(str(ids["task"]))

    def rename(uow: UnitOfWork, index: int) -> object:
        actor = load_actor(uow.session, int(str(ids["staff"])))
        edit = TaskEdit(version=1, changes={"title": f"敲门行动{index}", "capacity": 5 + index})
        done = edit_task(uow, actor, task_id, edit, utcnow())
        return (done.title, done.capacity)

    results = racing(racing_app, 20, rename)
    landed = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(landed) == 1
    assert len(refused) == 19
    assert {error.code for error in refused} == {"task_changed"}
    with racing_app.app_context():
        session = extensions.session()
        task = session.get(Task, task_id)
        assert task is not None
        # What is stored is the one edit that landed, whole: title and capacity together.
        assert (task.version, (task.title, task.capacity)) == (2, landed[0])
        [change] = session.scalars(select(TaskChange).where(TaskChange.task_id == task_id))
        assert change.changes["title"]["after"] == task.title


def test_shrinking_a_task_while_people_sign_up_never_seats_more_than_it_holds(
    racing_app: Flask,
) -> None:
    ids = community(racing_app, 12)
    task_id = int(str(ids["task"]))
    members = list(ids["members"])  # type: ignore[call-overload]

    def step(uow: UnitOfWork, index: int) -> object:
        if index == 0:
            actor = load_actor(uow.session, int(str(ids["staff"])))
            return edit_task(uow, actor, task_id, TaskEdit(1, {"capacity": 4}), utcnow()).id
        return sign_up(uow, load_actor(uow.session, members[index - 1]), task_id, utcnow()).id

    results = racing(racing_app, 13, step)
    errors = {r.code for r in results if isinstance(r, DomainError)}
    assert errors <= {"task_full", "capacity_below_signups", "task_changed"}
    with racing_app.app_context():
        session = extensions.session()
        task = session.get(Task, task_id)
        assert task is not None
        seated = session.scalar(
            select(func.count())
            .select_from(Participation)
            .where(Participation.task_id == task_id, Participation.status == "signed_up")
        )
        assert seated == task.signed_up_count <= task.capacity
        shrunk = results[0] == task_id
        assert task.capacity == (4 if shrunk else 20)
        assert task.version == (2 if shrunk else 1)
