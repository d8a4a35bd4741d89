"""The inbox through HTTP: what each event tells whom, once; reading, the unread
count kept in Redis, settings and subscriptions, and what is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select, update

from api import extensions
from api.cli import cli
from points.notices import Topic
from service.db import utcnow
from service.notifications.inbox import Told, write_notifications
from service.notifications.models import Notification
from service.outbox.dispatch import LEASE
from service.outbox.models import OUTBOX_TABLE, OutboxMessage
from service.tasks.models import Participation
from tests.api.community_helpers import publish_starter_rules
from tests.api.test_adjustments import adjust
from tests.api.test_demand_loop import act, ok, user_id
from tests.api.test_demands import reported
from tests.api.world import World
from tests.ledger_helpers import credit


def submitted_work(app: Flask, world: World, role: str = "member") -> int:
    """Work the role's user handed in on community A's published task."""
    with app.app_context():
        session = extensions.session()
        work = Participation(
            task_id=world.ids["published_task_A"],
            user_id=user_id(world, role),
            role="member",
            status="submitted",
            units=3,
            submitted_at=utcnow(),
        )
        session.add(work)
        session.commit()
        return work.id


def inbox(client: FlaskClient, world: World, role: str, **query: Any) -> dict[str, Any]:
    args = "&".join(f"{key}={value}" for key, value in query.items())
    response = world.call(client, role, "GET", f"/me/notifications?{args}")
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def unread(client: FlaskClient, world: World, role: str) -> int:
    response = world.call(client, role, "GET", "/me/notifications/unread-count")
    assert response.status_code == 200, response.get_json()
    count: int = response.get_json()["unread"]
    return count


def kinds(client: FlaskClient, world: World, role: str) -> list[str]:
    return [item["kind"] for item in inbox(client, world, role)["items"]]


def test_an_approval_tells_the_member_once_with_the_points(
    app: Flask, client: FlaskClient, world: World
) -> None:
    publish_starter_rules(app, world)
    work = submitted_work(app, world)
    approved = world.call(client, "staff", "POST", f"/participations/{work}/approve")
    assert approved.status_code == 200, approved.get_json()

    items = inbox(client, world, "member")["items"]
    assert [item["kind"] for item in items] == ["participation.approved"]
    told = items[0]
    assert told["read"] is False
    assert "11 积分、5 幸福币" in told["body"]
    assert "敲门入户 rule: 3 户 × 2 + base 5 = 11 积分" in told["body"]  # how, per currency
    assert told["data"]["participation_id"] == work
    assert unread(client, world, "member") == 1

    # Handed out again (the outbox is at least once): still one notification.
    with app.app_context():
        session = extensions.session()
        session.execute(
            update(OUTBOX_TABLE)
            .where(OUTBOX_TABLE.c.kind == "notice")
            .values(handled_at=None, due_at=utcnow())
        )
        session.commit()
        report = extensions.outbox_dispatcher().sweep(session, now=utcnow() + LEASE)
        assert report.handled == 1
        count = select(func.count()).select_from(Notification)
        assert session.scalar(count) == 1
    assert unread(client, world, "member") == 1


def test_members_see_and_read_only_their_own(app: Flask, client: FlaskClient, world: World) -> None:
    publish_starter_rules(app, world)
    work = submitted_work(app, world)
    world.call(client, "staff", "POST", f"/participations/{work}/approve")
    mine = inbox(client, world, "member")["items"][0]["id"]

    assert inbox(client, world, "volunteer")["items"] == []
    theirs = world.call(client, "volunteer", "POST", "/me/notifications/read", {"ids": [mine]})
    assert (theirs.status_code, theirs.get_json()["code"]) == (404, "not_found")
    assert unread(client, world, "member") == 1

    read = world.call(client, "member", "POST", "/me/notifications/read", {"ids": [mine]})
    assert (read.status_code, read.get_json()) == (200, {"marked": 1})
    assert unread(client, world, "member") == 0
    assert inbox(client, world, "member")["items"][0]["read"] is True
    again = world.call(client, "member", "POST", "/me/notifications/read", {"ids": [mine]})
    assert again.get_json() == {"marked": 0}


def test_the_unread_count_follows_new_and_read_notifications(
    app: Flask, client: FlaskClient, world: World
) -> None:
    member = user_id(world, "member")
    assert unread(client, world, "member") == 0  # now kept in Redis

    def tell(source: str) -> None:
        with app.app_context():
            session = extensions.session()
            told = [
                Told(member, Topic.TASK_CANCELLED, source, {"task_title": "巡逻", "reason": "雨"})
            ]
            written = write_notifications(session, told, {}, utcnow())
            session.commit()
            extensions.unread_counts().changed(written)

    tell("a")
    tell("b")
    assert unread(client, world, "member") == 2
    with app.app_context():
        key = extensions.unread_counts().key(member)
        assert extensions.redis_client().hget(key, "count") == b"2"  # served from Redis
    read_all = world.call(client, "member", "POST", "/me/notifications/read", {"all": True})
    assert read_all.get_json() == {"marked": 2}
    assert unread(client, world, "member") == 0
    tell("c")
    assert unread(client, world, "member") == 1
    # Redis lost (or flushed): counted again from the database.
    with app.app_context():
        extensions.redis_client().delete(key)
    assert unread(client, world, "member") == 1


def test_the_inbox_pages_newest_first(app: Flask, client: FlaskClient, world: World) -> None:
    member = user_id(world, "member")
    with app.app_context():
        session = extensions.session()
        told = [
            Told(member, Topic.TASK_CANCELLED, f"n{n}", {"task_title": f"任务{n}", "reason": "-"})
            for n in range(3)
        ]
        write_notifications(session, told, {}, utcnow())
        session.commit()
    first = inbox(client, world, "member", limit=2)
    assert [item["data"]["task_title"] for item in first["items"]] == ["任务2", "任务1"]
    rest = inbox(client, world, "member", limit=2, cursor=first["next_cursor"])
    assert ([item["data"]["task_title"] for item in rest["items"]], rest["next_cursor"]) == (
        ["任务0"],
        None,
    )


def test_each_event_tells_whom_it_concerns(app: Flask, client: FlaskClient, world: World) -> None:
    publish_starter_rules(app, world)
    # Rejected, then (other work) approved and reversed.
    rejected = submitted_work(app, world)
    refused = world.call(
        client, "staff", "POST", f"/participations/{rejected}/reject", {"reason": "照片不清楚"}
    )
    assert refused.status_code == 200, refused.get_json()
    work = submitted_work(app, world, "volunteer")
    world.call(client, "staff", "POST", f"/participations/{work}/approve")
    reversed_ = world.call(
        client, "staff", "POST", f"/participations/{work}/reverse", {"reason": "重复提交"}
    )
    assert reversed_.status_code == 200, reversed_.get_json()
    assert kinds(client, world, "member") == ["participation.rejected"]
    assert "照片不清楚" in inbox(client, world, "member")["items"][0]["body"]
    assert kinds(client, world, "volunteer") == ["participation.reversed", "participation.approved"]
    assert "重复提交" in inbox(client, world, "volunteer")["items"][0]["body"]

    # A redemption held and picked up.
    with app.app_context():
        credit(extensions.session(), user_id(world, "member"), "xingfubi", 50)
    item = world.ids["item_A"]
    held = world.call(client, "member", "POST", "/redemptions", {"item_id": item, "quantity": 1})
    assert held.status_code == 201, held.get_json()
    code = held.get_json()["pickup_code"]
    assert code in inbox(client, world, "member")["items"][0]["body"]
    station = world.ids["station_A"]
    picked = world.call(
        client, "clerk", "POST", f"/stations/{station}/pickups", {"pickup_code": code}
    )
    assert picked.status_code == 200, picked.get_json()
    assert kinds(client, world, "member")[:2] == ["redemption.picked_up", "redemption.held"]

    # A demand the resident raised moves on: they hear; the staff who moved it don't.
    demand = reported(client, world)
    ok(act(client, world, "staff", demand, "accept", level="grid"))
    assert kinds(client, world, "resident") == ["demand.moved"]
    assert "demand.moved" not in kinds(client, world, "staff")

    # A large award waits for a second staff member: the others who may confirm hear.
    asked = adjust(client, world, "staff", 500)
    assert asked.get_json()["status"] == "pending_confirmation"
    assert kinds(client, world, "admin") == ["adjustment.to_confirm"]
    assert kinds(client, world, "root") == ["adjustment.to_confirm"]
    assert "adjustment.to_confirm" not in kinds(client, world, "staff")


def test_a_cancelled_or_edited_task_tells_those_signed_up(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = world.ids["published_task_A"]
    signed = world.call(client, "member", "POST", f"/tasks/{task}/signups")
    assert signed.status_code == 201, signed.get_json()
    seen = world.call(client, "staff", "GET", f"/tasks/{task}").get_json()
    edited = world.call(
        client,
        "staff",
        "PATCH",
        f"/tasks/{task}",
        {"version": seen["version"], "title": "楼道清扫（改）", "address": "5栋门口"},
    )
    assert edited.status_code == 200, edited.get_json()
    assert kinds(client, world, "member") == ["task.edited"]
    assert "名称、地点" in inbox(client, world, "member")["items"][0]["body"]
    cancelled = world.call(client, "staff", "POST", f"/tasks/{task}/cancel", {"reason": "台风"})
    assert cancelled.status_code == 200, cancelled.get_json()
    assert kinds(client, world, "member") == ["task.cancelled", "task.edited"]
    assert "台风" in inbox(client, world, "member")["items"][0]["body"]
    # person_A's submitted work on it was still open: they hear too, once each.
    with app.app_context():
        session = extensions.session()
        told_a = select(Notification.topic).where(Notification.user_id == world.ids["person_A"])
        assert sorted(session.scalars(told_a)) == ["task.cancelled", "task.edited"]


def test_settings_choose_wechat_per_kind(client: FlaskClient, world: World) -> None:
    response = world.call(client, "member", "GET", "/me/notification-settings")
    shown = response.get_json()
    assert response.status_code == 200, shown
    assert shown["wechat"]["task.starting"] is True
    assert set(shown["wechat"]) == {topic.value for topic in Topic}
    changed = world.call(
        client, "member", "PATCH", "/me/notification-settings", {"wechat": {"task.starting": False}}
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["wechat"]["task.starting"] is False
    assert changed.get_json()["wechat"]["task.cancelled"] is True
    other = world.call(client, "volunteer", "GET", "/me/notification-settings").get_json()
    assert other["wechat"]["task.starting"] is True


def test_bad_input_is_refused_with_a_code_and_changes_nothing(
    app: Flask, client: FlaskClient, world: World
) -> None:
    bad = [
        ("POST", "/me/notifications/read", {}),
        ("POST", "/me/notifications/read", {"all": "yes"}),
        ("POST", "/me/notifications/read", {"all": False}),
        ("POST", "/me/notifications/read", {"ids": [1], "all": True}),
        ("POST", "/me/notifications/read", {"ids": ["1"]}),
        ("POST", "/me/notifications/read", {"ids": [1.5]}),
        ("POST", "/me/notifications/read", {"ids": []}),
        ("PATCH", "/me/notification-settings", {"wechat": {"no.such": True}}),
        ("PATCH", "/me/notification-settings", {"wechat": {"task.starting": "off"}}),
        ("PATCH", "/me/notification-settings", {"wechat": {"task.starting": 0}}),
        ("PATCH", "/me/notification-settings", {}),
        ("POST", "/me/subscriptions", {"results": {"not-ours": "accept"}}),
        ("POST", "/me/subscriptions", {"results": {"tmpl": "maybe"}}),
        ("POST", "/me/subscriptions", {"results": {}}),
        ("POST", "/me/subscriptions", {"results": {"t\u0000": "accept"}}),
    ]
    for method, path, body in bad:
        response = world.call(client, "member", method, path, body)
        assert response.status_code == 422, (path, body, response.get_json())
        assert response.get_json()["code"] in ("validation_error", "invalid_text", "invalid_input")
    cursor = world.call(client, "member", "GET", "/me/notifications?cursor=@@")
    assert (cursor.status_code, cursor.get_json()["code"]) == (422, "invalid_input")
    with app.app_context():
        session = extensions.session()
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    shown = world.call(client, "member", "GET", "/me/notification-settings").get_json()
    assert all(shown["wechat"].values())


def test_prune_forgets_old_read_notifications_only(
    app: Flask, world: World, runner: FlaskCliRunner
) -> None:
    member = user_id(world, "member")
    now = utcnow()
    with app.app_context():
        session = extensions.session()
        told = [
            Told(member, Topic.TASK_CANCELLED, source, {"task_title": "t", "reason": "r"})
            for source in ("old-read", "new-read", "old-unread")
        ]
        write_notifications(session, told, {}, now - timedelta(days=200))
        session.execute(
            update(Notification)
            .where(Notification.source == "old-read")
            .values(read_at=now - timedelta(days=100))
        )
        session.execute(
            update(Notification)
            .where(Notification.source == "new-read")
            .values(read_at=now - timedelta(days=10))
        )
        session.commit()
    result = runner.invoke(cli, ["notifications", "prune"])
    assert result.exit_code == 0, result.output
    assert "1 read notification(s) pruned" in result.output
    with app.app_context():
        left = extensions.session().scalars(select(Notification.source)).all()
        assert sorted(left) == ["new-read", "old-unread"]
