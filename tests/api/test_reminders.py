"""Reminders found by the sweep, each once however often it runs: a task within the
hour, a pickup within a day, 幸福币 within 30 days, a whistle's 报到 near and past."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from api import extensions
from api.cli import cli
from service.db import utcnow
from service.demands.models import DemandWhistle
from service.notifications.models import Notification
from service.notifications.reminders import remind
from service.stations.models import Redemption
from service.stations.release import expire_due
from service.tasks.models import Participation, Task
from service.unit_of_work import UnitOfWork
from tests.api.test_demand_loop import user_id
from tests.api.world import World, demo_task


def sweep(app: Flask, now: datetime) -> int:
    with app.app_context():
        report = remind(
            UnitOfWork(extensions.session()),
            extensions.wechat_templates(),
            extensions.unread_counts(),
            now,
        )
        return report.told


def told(app: Flask, user: int) -> list[tuple[str, str]]:
    with app.app_context():
        rows = extensions.session().execute(
            select(Notification.topic, Notification.source)
            .where(Notification.user_id == user)
            .order_by(Notification.id)
        )
        return [(topic, source) for topic, source in rows]


def test_a_task_starting_within_the_hour_is_reminded_once_per_sign_up(
    app: Flask, world: World
) -> None:
    now = utcnow()
    member = user_id(world, "member")
    with app.app_context():
        session = extensions.session()
        tasks = []
        for minutes in (50, 90):
            starts = now + timedelta(minutes=minutes)
            task = Task(
                **demo_task(
                    world.ids["community_A"], starts_at=starts, ends_at=starts + timedelta(hours=1)
                ),
                status="published",
                created_by_id=world.ids["person_A"],
            )
            session.add(task)
            session.flush()
            tasks.append(task.id)
            session.add(
                Participation(task_id=task.id, user_id=member, role="member", status="signed_up")
            )
        # Someone who cancelled is not reminded.
        session.add(
            Participation(
                task_id=tasks[0],
                user_id=user_id(world, "volunteer"),
                role="volunteer",
                status="cancelled",
            )
        )
        session.commit()
    for minute in range(5):  # the worker's minutes
        sweep(app, now + timedelta(minutes=minute))
    assert [topic for topic, _ in told(app, member)] == ["task.starting"]
    assert told(app, user_id(world, "volunteer")) == []
    assert sweep(app, now + timedelta(minutes=31)) == 1  # the second task is within the hour now
    assert sweep(app, now + timedelta(minutes=32)) == 0
    assert len(told(app, member)) == 2


def test_pickups_and_coins_about_to_expire_are_reminded_once(
    app: Flask, world: World, runner: FlaskCliRunner
) -> None:
    with app.app_context():
        held = extensions.session().scalars(select(Redemption)).all()
        expires = min(redemption.expires_at for redemption in held)
        shoppers = sorted({redemption.user_id for redemption in held})
    assert sweep(app, expires - timedelta(days=2)) == 0
    sweep(app, expires - timedelta(hours=20))
    sweep(app, expires - timedelta(hours=19))
    for shopper in shoppers:
        assert [topic for topic, _ in told(app, shopper)] == ["redemption.expiring"]
    # 幸福币 earned today expire in 365 days: one reminder per member and day, 30 days ahead.
    later = utcnow() + timedelta(days=340)
    sweep(app, later)
    sweep(app, later + timedelta(days=1))
    for shopper in shoppers:
        assert [topic for topic, _ in told(app, shopper)][1:] == ["points.expiring"]
    with app.app_context():
        body = extensions.session().scalar(
            select(Notification.body).where(
                Notification.user_id == shoppers[0], Notification.topic == "points.expiring"
            )
        )
    assert body is not None
    assert body.startswith("25 幸福币将于")
    assert "0 reminder(s) written" in runner.invoke(cli, ["notifications", "remind"]).output


def test_a_whistle_near_and_past_its_deadline_tells_the_departments_officers(
    app: Flask, world: World
) -> None:
    now = utcnow()
    officer = user_id(world, "dept_officer")
    with app.app_context():
        session = extensions.session()
        session.add(
            DemandWhistle(
                demand_id=world.ids["demand_A"],
                department_id=world.ids["department"],
                whistled_by_id=user_id(world, "staff"),
                whistled_at=now,
                acknowledge_due_at=now + timedelta(hours=24),
                answer_due_at=now + timedelta(days=7),
            )
        )
        session.commit()
    assert sweep(app, now) == 0
    sweep(app, now + timedelta(hours=21))
    sweep(app, now + timedelta(hours=22))
    sweep(app, now + timedelta(hours=25))
    sweep(app, now + timedelta(hours=26))
    assert [topic for topic, _ in told(app, officer)] == ["whistle.due_soon", "whistle.overdue"]
    assert told(app, user_id(world, "staff")) == []


def test_a_hold_nobody_collected_tells_its_member_it_expired(app: Flask, world: World) -> None:
    with app.app_context():
        held = extensions.session().scalars(select(Redemption)).all()
        latest = max(redemption.expires_at for redemption in held)
        released = expire_due(extensions.unit_of_work(), latest + timedelta(minutes=1))
    assert released == len(held) == 2
    for redemption in held:
        topics = [topic for topic, _ in told(app, redemption.user_id)]
        assert topics == ["redemption.expired"]
    with app.app_context():
        body = extensions.session().scalar(
            select(Notification.body).where(Notification.topic == "redemption.expired")
        )
    assert body == "洗衣液 × 1 未按时领取，已退回 5 幸福币"
