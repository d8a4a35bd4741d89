"""Two workers sweeping no-shows at the same instants: each sign-up is marked once, its
seat given back once and one notice kept for its member, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from api import extensions
from points.access import Role, ScopeType
from points.notices import Topic
from points.places import PlaceLevel
from service.db import utcnow
from service.ledger.models import Transfer
from service.outbox.models import OutboxMessage
from service.people.directory import ensure_grant
from service.people.models import User
from service.places.tree import add_place
from service.tasks.models import Participation, Task
from service.tasks.no_shows import mark_no_shows
from service.unit_of_work import UnitOfWork
from tests.all_at_once import all_at_once
from tests.api.world import demo_task
from tests.conftest import AppFactory

PEOPLE = 40


@pytest.fixture
def racing_app(make_app: AppFactory) -> Flask:
    return make_app(db_pool_size=10)


def test_two_workers_mark_each_no_show_once(racing_app: Flask) -> None:
    now = utcnow().replace(microsecond=0)
    ends_at = now - timedelta(minutes=1)
    with racing_app.app_context():
        session = extensions.session()
        town = add_place(session, None, "社区", PlaceLevel.COMMUNITY)
        staff = User(name="王芳")
        session.add(staff)
        session.flush()
        ensure_grant(session, staff, Role.STAFF, ScopeType.PLACE, town.id)
        task = Task(
            **demo_task(
                town.id,
                starts_at=ends_at - timedelta(hours=2),
                ends_at=ends_at,
                capacity=PEOPLE,
            ),
            status="published",
            signed_up_count=PEOPLE,
            created_by_id=staff.id,
        )
        session.add(task)
        people = [User(name=f"志愿者{n}", residence_place_id=town.id) for n in range(PEOPLE)]
        session.add_all(people)
        session.flush()
        session.add_all(
            Participation(task_id=task.id, user_id=person.id, role="volunteer", status="signed_up")
            for person in people
        )
        session.commit()
        task_id = task.id
        transfers = session.scalar(select(func.count()).select_from(Transfer))

    def worker(index: int, go: Callable[[], None]) -> int:
        marked = 0
        with racing_app.app_context():
            session = extensions.session()
            for minute in range(2):
                go()  # both sweep this minute at the same instant
                marked += mark_no_shows(UnitOfWork(session), now + timedelta(minutes=minute))
        return marked

    marked = all_at_once(2, worker, timeout=60)
    assert sum(marked) == PEOPLE
    with racing_app.app_context():
        session = extensions.session()
        statuses = session.execute(
            select(Participation.status, Participation.no_show_at, func.count())
            .where(Participation.task_id == task_id)
            .group_by(Participation.status, Participation.no_show_at)
        ).all()
        assert [tuple(row) for row in statuses] == [("no_show", ends_at, PEOPLE)]
        stored = session.get(Task, task_id)
        assert stored is not None
        assert stored.signed_up_count == 0  # each seat given back once, never below zero
        notices = [
            message.payload
            for message in session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "notice")
            )
            if message.payload["topic"] == Topic.NO_SHOW.value
        ]
        assert len(notices) == PEOPLE  # one notice kept per no-show, by the winning sweep
        assert session.scalar(select(func.count()).select_from(Transfer)) == transfers
