"""No-show sweeps under real concurrency, on both backends: two workers at the same
instants mark each sign-up once, give its seat back once and keep one notice for its
member; check-ins at the task's last moment race them and each ends one way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from api import extensions
from points.access import Role, ScopeType
from points.errors import DomainError
from points.notices import Topic
from points.places import PlaceLevel
from service.auth.tokens import AccessClaims
from service.db import utcnow
from service.ledger.models import Transfer
from service.outbox.models import OutboxMessage
from service.people.directory import ensure_grant
from service.people.models import User
from service.places.tree import add_place
from service.tasks.attendance import Position, check_in
from service.tasks.models import Participation, Task
from service.tasks.no_shows import mark_no_shows
from service.unit_of_work import UnitOfWork
from tests.all_at_once import all_at_once
from tests.api.world import demo_task
from tests.conftest import AppFactory
from tests.integration.test_task_edit_races import racing

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


def test_check_ins_at_the_last_moment_race_the_sweeps_and_each_ends_one_way(
    racing_app: Flask,
) -> None:
    """Check-in is open until the end, inclusive, and a no-show is due from it: twenty
    checking in at that instant while two sweeps run end each one checked in or a
    no-show, never both, with a clean conflict for the check-ins that lost."""
    ends_at = utcnow().replace(microsecond=0)
    with racing_app.app_context():
        session = extensions.session()
        town = add_place(session, None, "社区", PlaceLevel.COMMUNITY)
        staff = User(name="王芳")
        people = [User(name=f"党员{n}", residence_place_id=town.id) for n in range(20)]
        session.add_all([staff, *people])
        session.flush()
        fields = demo_task(
            town.id,
            starts_at=ends_at - timedelta(hours=2),
            ends_at=ends_at,
            capacity=20,
            checkin_mode="geofence",
        )
        task = Task(**fields, status="published", signed_up_count=20, created_by_id=staff.id)
        session.add(task)
        session.flush()
        parts = [
            Participation(task_id=task.id, user_id=person.id, role="member", status="signed_up")
            for person in people
        ]
        session.add_all(parts)
        session.commit()
        task_id, lat, lng = task.id, task.lat, task.lng
        racers = [(part.id, part.user_id) for part in parts]
        secret = extensions.settings().secret_key

    def step(uow: UnitOfWork, index: int) -> object:
        if index < 2:
            return mark_no_shows(uow, ends_at)
        participation_id, user_id = racers[index - 2]
        claims = AccessClaims(user_id=user_id, token_version=0, family=f"fam-{user_id}")
        here = Position(lat=lat, lng=lng, accuracy_m=10)
        return check_in(uow, claims, participation_id, here, None, secret, ends_at)["status"]

    results = racing(racing_app, 22, step)
    sweeps, check_ins = results[:2], results[2:]
    came = [r for r in check_ins if r == "checked_in"]
    lost = [r for r in check_ins if isinstance(r, DomainError)]
    assert len(came) + len(lost) == 20, results
    assert {error.code for error in lost} <= {"invalid_transition", "participation_changed"}
    assert sum(int(str(marked)) for marked in sweeps) == len(lost)
    with racing_app.app_context():
        session = extensions.session()
        counts = dict(
            session.execute(
                select(Participation.status, func.count())
                .where(Participation.task_id == task_id)
                .group_by(Participation.status)
            ).all()
        )
        assert counts == {
            status: n for status, n in (("checked_in", len(came)), ("no_show", len(lost))) if n
        }
        stored = session.get(Task, task_id)
        assert stored is not None
        assert stored.signed_up_count == len(came)  # no-shows gave their seats back
