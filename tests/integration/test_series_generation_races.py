"""Recurring tasks under real concurrency, on both backends: generators running at once
post each occurrence exactly once, and enrol each member of the series in it once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from api import extensions
from points.calendar import LOCAL_TIME
from service.access import load_actor
from service.tasks.generation import GenerationReport, generate_occurrences
from service.tasks.models import Participation, SeriesSignup, Task, TaskSeries
from service.tasks.series_signups import join_series
from tests.all_at_once import all_at_once
from tests.conftest import AppFactory
from tests.integration.test_task_edit_races import community

# A Monday noon, Beijing time: the series runs daily from tomorrow, so a 14-day horizon
# holds 14 occurrences.
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=LOCAL_TIME)
GENERATORS = 8
MEMBERS = 5


@pytest.fixture
def racing_app(make_app: AppFactory) -> Flask:
    return make_app(db_pool_size=GENERATORS + 2)


def daily_series_with_members(app: Flask) -> tuple[int, list[int]]:
    ids = community(app, MEMBERS)
    members: list[int] = list(ids["members"])  # type: ignore[call-overload]
    with app.app_context():
        session = extensions.session()
        task = session.get(Task, int(str(ids["task"])))
        assert task is not None
        series = TaskSeries(
            place_id=task.place_id,
            title="每日巡逻",
            category="safety",
            type="patrol",
            lat=task.lat,
            lng=task.lng,
            radius_m=300,
            capacity=10,
            audience="everyone",
            checkin_mode="both",
            work_unit="hours",
            frequency="every_n_days",
            weekdays=[],
            interval_days=1,
            first_date=NOW.date() + timedelta(days=1),
            start_time=time(19, 0),
            duration_minutes=60,
            created_by_id=int(str(ids["staff"])),
        )
        session.add(series)
        session.flush()
        for member in members:
            session.add(SeriesSignup(series_id=series.id, user_id=member, joined_at=NOW))
        session.commit()
        return series.id, members


def test_generators_at_once_post_each_occurrence_once(racing_app: Flask) -> None:
    series_id, members = daily_series_with_members(racing_app)

    def worker(index: int, go: Callable[[], None]) -> GenerationReport:
        with racing_app.app_context():
            uow = extensions.unit_of_work()
            go()
            return generate_occurrences(uow, NOW, 14)

    reports = all_at_once(GENERATORS, worker, timeout=120)
    assert sum(report.posted for report in reports) == 14
    with racing_app.app_context():
        session = extensions.session()
        days = list(
            session.execute(
                select(Task.occurrence_date, func.count())
                .where(Task.series_id == series_id)
                .group_by(Task.occurrence_date)
                .order_by(Task.occurrence_date)
            )
        )
        assert [count for _, count in days] == [1] * 14
        assert days[0][0] == NOW.date() + timedelta(days=1)
        enrolled = list(
            session.execute(
                select(Participation.user_id, func.count())
                .join(Task, Task.id == Participation.task_id)
                .where(Task.series_id == series_id, Participation.status == "signed_up")
                .group_by(Participation.user_id)
            )
        )
        assert sorted(enrolled) == [(member, 14) for member in sorted(members)]
        seats = set(
            session.scalars(select(Task.signed_up_count).where(Task.series_id == series_id))
        )
        assert seats == {MEMBERS}
    # And once more, afterwards: nothing new.
    with racing_app.app_context():
        assert generate_occurrences(extensions.unit_of_work(), NOW, 14).posted == 0


def test_joining_while_occurrences_are_posted_misses_none(racing_app: Flask) -> None:
    series_id, members = daily_series_with_members(racing_app)
    joiner = members[0]
    with racing_app.app_context():
        session = extensions.session()
        session.execute(delete(SeriesSignup).where(SeriesSignup.user_id == joiner))
        session.commit()

    def worker(index: int, go: Callable[[], None]) -> object:
        with racing_app.app_context():
            uow = extensions.unit_of_work()
            actor = load_actor(uow.session, joiner)
            go()
            if index == 0:
                return join_series(uow, actor, series_id, NOW)
            return generate_occurrences(uow, NOW, 14)

    all_at_once(4, worker, timeout=120)
    with racing_app.app_context():
        session = extensions.session()
        mine = session.scalars(
            select(Participation.task_id)
            .join(Task, Task.id == Participation.task_id)
            .where(Task.series_id == series_id, Participation.user_id == joiner)
        ).all()
        posted = session.scalars(select(Task.id).where(Task.series_id == series_id)).all()
        assert len(posted) == 14
        assert sorted(mine) == sorted(posted)
