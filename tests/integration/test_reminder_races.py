"""Two workers sweeping reminders every minute at the same instants: each sign-up is
reminded once (the inbox's unique (member, source) decides, on both backends)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from api import extensions
from points.access import Role, ScopeType
from points.places import PlaceLevel
from service.db import utcnow
from service.notifications.models import Notification
from service.notifications.reminders import remind
from service.people.directory import ensure_grant
from service.people.models import User
from service.places.tree import add_place
from service.tasks.models import Participation, Task
from service.unit_of_work import UnitOfWork
from tests.all_at_once import all_at_once
from tests.api.world import demo_task
from tests.conftest import AppFactory

PEOPLE = 40


@pytest.fixture
def racing_app(make_app: AppFactory) -> Flask:
    return make_app(db_pool_size=10)


def test_two_workers_remind_each_sign_up_once(racing_app: Flask) -> None:
    now = utcnow()
    with racing_app.app_context():
        session = extensions.session()
        town = add_place(session, None, "社区", PlaceLevel.COMMUNITY)
        staff = User(name="王芳")
        session.add(staff)
        session.flush()
        ensure_grant(session, staff, Role.STAFF, ScopeType.PLACE, town.id)
        starts = now + timedelta(minutes=30)
        task = Task(
            **demo_task(
                town.id, starts_at=starts, ends_at=starts + timedelta(hours=2), capacity=PEOPLE
            ),
            status="published",
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

    def worker(index: int, go: Callable[[], None]) -> int:
        written = 0
        with racing_app.app_context():
            session = extensions.session()
            for minute in range(3):
                go()  # both sweep this minute at the same instant
                report = remind(
                    UnitOfWork(session),
                    extensions.wechat_templates(),
                    extensions.unread_counts(),
                    now + timedelta(minutes=minute),
                )
                written += report.told
        return written

    written = all_at_once(2, worker, timeout=60)
    assert sum(written) == PEOPLE
    with racing_app.app_context():
        session = extensions.session()
        total = session.scalar(select(func.count()).select_from(Notification))
        distinct = session.scalar(select(func.count(func.distinct(Notification.user_id))))
    assert (total, distinct) == (PEOPLE, PEOPLE)
