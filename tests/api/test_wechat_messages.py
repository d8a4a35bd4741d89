"""Subscribe messages end to end against the stub WeChat server (live mode): an
approval's message sent once while the member's allowance lasts, and every answer
WeChat may give — 43101, 47003, -1/45009, 40001 — and a worker dying mid-send."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select, update

from api import extensions
from api.cli import cli
from points.notices import Topic
from service.db import utcnow
from service.notifications.inbox import Told, write_notifications
from service.notifications.models import (
    MessageStatus,
    Notification,
    SubscriptionQuota,
    WechatMessage,
)
from service.notifications.sending import LEASE, SendReport, send_due
from service.people.models import User
from service.unit_of_work import UnitOfWork
from service.wechat.subscribe import SendResult, SubscribeMessage, SubscribeSender
from tests.api.community_helpers import publish_starter_rules
from tests.api.test_demand_loop import user_id
from tests.api.test_notifications import submitted_work
from tests.api.world import World, build_world
from tests.conftest import AppFactory
from tests.wechat_stub import STABLE_TOKEN, SUBSCRIBE_SEND, WechatStub

APPROVED = "tmpl-approved-0001"
CANCELLED = "tmpl-cancelled-0002"
TEMPLATES = {
    "participation.approved": {
        "template_id": APPROVED,
        "page": "pages/participation/detail?id={participation_id}",
        "fields": {"thing1": "task_title", "thing2": "points", "thing3": "explanation"},
    },
    "task.cancelled": {
        "template_id": CANCELLED,
        "page": "pages/task/detail?id={task_id}",
        "fields": {"thing1": "task_title", "thing2": "reason", "phrase3": "reason"},
    },
}
OPENID = "openid-member-1"


@pytest.fixture
def live(make_app: AppFactory, stub: WechatStub, fresh_state: None) -> Flask:
    return make_app(**stub.settings_overrides(), wechat_templates=TEMPLATES)


@pytest.fixture
def world(live: Flask) -> World:
    world = build_world(live)
    with live.app_context():
        session = extensions.session()
        session.execute(
            update(User).where(User.id == user_id(world, "member")).values(openid=OPENID)
        )
        session.commit()
    return world


def subscribe(client: FlaskClient, world: World, times: int, template: str = APPROVED) -> Any:
    for _ in range(times):
        answered = world.call(
            client, "member", "POST", "/me/subscriptions", {"results": {template: "accept"}}
        )
        assert answered.status_code == 200, answered.get_json()
    return answered.get_json()


def allowance(app: Flask, template: str = APPROVED) -> int:
    with app.app_context():
        left = extensions.session().scalar(
            select(SubscriptionQuota.remaining).where(SubscriptionQuota.template_id == template)
        )
        return left or 0


def send(
    app: Flask, now: datetime | None = None, sender: SubscribeSender | None = None
) -> SendReport:
    with app.app_context():
        return send_due(
            UnitOfWork(extensions.session()),
            sender or extensions.subscribe_messages(),
            extensions.wechat_templates(),
            now or utcnow(),
        )


def statuses(app: Flask) -> list[str]:
    with app.app_context():
        return list(
            extensions.session().scalars(select(WechatMessage.status).order_by(WechatMessage.id))
        )


def approve(live: Flask, world: World) -> None:
    publish_starter_rules(live, world)
    work = submitted_work(live, world)
    client = live.test_client()
    approved = world.call(client, "staff", "POST", f"/participations/{work}/approve")
    assert approved.status_code == 200, approved.get_json()


def test_an_approval_with_an_allowance_sends_exactly_one_message(
    live: Flask, world: World, stub: WechatStub
) -> None:
    client = live.test_client()
    assert subscribe(client, world, 1)["items"] == [
        {"template_id": APPROVED, "remaining": 1},
        {"template_id": CANCELLED, "remaining": 0},
    ]
    approve(live, world)
    assert send(live).sent == 1
    assert send(live).sent == 0  # nothing more to send
    [message] = stub.subscribe_sent
    assert (message["touser"], message["template_id"]) == (OPENID, APPROVED)
    assert message["page"].startswith("pages/participation/detail?id=")
    data = {key: field["value"] for key, field in message["data"].items()}
    assert data["thing1"] == "敲门行动"
    assert data["thing2"] == "11 积分、5 幸福币"
    assert len(data["thing3"]) == 20
    assert data["thing3"].endswith("…")
    assert allowance(live) == 0
    assert statuses(live) == ["sent"]
    with live.app_context():
        assert extensions.session().scalar(select(func.count()).select_from(Notification)) == 1


def test_without_an_allowance_the_inbox_has_it_and_nothing_is_sent(
    live: Flask, world: World, stub: WechatStub
) -> None:
    approve(live, world)
    report = send(live)
    assert (report.sent, report.no_quota) == (0, 1)
    assert stub.calls[SUBSCRIBE_SEND] == 0
    assert statuses(live) == ["no_quota"]
    inbox = world.call(live.test_client(), "member", "GET", "/me/notifications").get_json()
    assert [item["kind"] for item in inbox["items"]] == ["participation.approved"]


def test_turned_off_for_the_kind_no_message_is_queued(
    live: Flask, world: World, stub: WechatStub
) -> None:
    client = live.test_client()
    subscribe(client, world, 1)
    world.call(
        client,
        "member",
        "PATCH",
        "/me/notification-settings",
        {"wechat": {"participation.approved": False}},
    )
    approve(live, world)
    assert send(live).sent == 0
    assert statuses(live) == []
    assert allowance(live) == 1


def test_43101_means_the_member_refused_and_the_allowance_is_zeroed(
    live: Flask, world: World, stub: WechatStub
) -> None:
    subscribe(live.test_client(), world, 3)
    stub.subscribe_refused.add(OPENID)
    approve(live, world)
    report = send(live)
    assert (report.sent, report.refused) == (0, 1)
    assert statuses(live) == ["refused"]
    assert allowance(live) == 0
    assert send(live, utcnow() + timedelta(hours=2)).outcomes == {}  # never tried again


def test_47003_is_logged_and_not_retried_until_an_operator_says(
    live: Flask, world: World, stub: WechatStub, runner: FlaskCliRunner
) -> None:
    subscribe(live.test_client(), world, 1)
    stub.fail_next(SUBSCRIBE_SEND, {"errcode": 47003, "errmsg": "argument invalid!"})
    approve(live, world)
    report = send(live)
    assert (report.sent, report.failed) == (0, 1)
    assert statuses(live) == ["failed"]
    assert allowance(live) == 1  # not delivered: the member's allowance stands
    assert send(live, utcnow() + timedelta(hours=2)).outcomes == {}
    assert stub.calls[SUBSCRIBE_SEND] == 1
    with live.app_context():
        status = runner.invoke(cli, ["notifications", "status"])
    assert status.exit_code == 1
    assert "failed: 1" in status.output
    retried = runner.invoke(cli, ["notifications", "retry"])
    assert "1 message(s) back in line" in retried.output
    assert send(live, utcnow() + timedelta(seconds=1)).sent == 1
    assert (len(stub.subscribe_sent), statuses(live), allowance(live)) == (1, ["sent"], 0)


@pytest.mark.parametrize("errcode", [-1, 45009])
def test_busy_or_over_the_daily_limit_backs_off_and_sends_later(
    live: Flask, world: World, stub: WechatStub, errcode: int
) -> None:
    subscribe(live.test_client(), world, 1)
    stub.fail_next(SUBSCRIBE_SEND, {"errcode": errcode, "errmsg": "busy"})
    approve(live, world)
    now = utcnow()
    assert send(live, now).retrying == 1
    assert (statuses(live), allowance(live)) == (["waiting"], 1)
    assert send(live, now + timedelta(seconds=30)).outcomes == {}  # backing off
    assert send(live, now + timedelta(minutes=2)).sent == 1
    assert (len(stub.subscribe_sent), allowance(live)) == (1, 0)


def test_a_rejected_token_is_refreshed_once_and_the_message_sent(
    live: Flask, world: World, stub: WechatStub
) -> None:
    subscribe(live.test_client(), world, 1)
    approve(live, world)
    with live.app_context():
        token = live.extensions["lianxin.wechat"].access_token()  # cached in Redis
    stub.expire_token()  # WeChat drops it; our cached copy is now rejected (40001)
    assert send(live).sent == 1
    assert stub.calls[STABLE_TOKEN] == 2  # the first token, then one refresh
    sends = [query for path, query, _ in stub.requests if path == SUBSCRIBE_SEND]
    assert [query["access_token"] for query in sends] == [token, stub.current_token]


def test_a_token_still_rejected_after_one_refresh_is_tried_later(
    live: Flask, world: World, stub: WechatStub
) -> None:
    subscribe(live.test_client(), world, 1)
    approve(live, world)
    for _ in range(2):
        stub.fail_next(SUBSCRIBE_SEND, {"errcode": 42001, "errmsg": "access_token expired"})
    assert send(live).retrying == 1
    assert stub.calls[SUBSCRIBE_SEND] == 2  # one refresh, not a loop
    assert (statuses(live), allowance(live)) == (["waiting"], 1)


class DiesAfterSending:
    """A worker killed between WeChat's answer and writing it down."""

    def __init__(self, real: SubscribeSender) -> None:
        self.real = real

    def send(self, message: SubscribeMessage) -> SendResult:
        self.real.send(message)
        raise RuntimeError("the worker died here")


def test_a_crash_between_sending_and_marking_sent_never_sends_twice(
    live: Flask, world: World, stub: WechatStub, runner: FlaskCliRunner
) -> None:
    subscribe(live.test_client(), world, 2)
    approve(live, world)
    now = utcnow()
    with live.app_context():
        real = extensions.subscribe_messages()
    with pytest.raises(RuntimeError, match="died"):
        send(live, now, DiesAfterSending(real))
    assert (len(stub.subscribe_sent), statuses(live)) == (1, ["sending"])
    # The next runs (a restarted worker, another one) don't send it again...
    assert send(live, now + timedelta(seconds=5)).outcomes == {}
    later = send(live, now + LEASE + timedelta(seconds=1))
    assert (later.failed, later.outcomes) == (1, {})  # ...but make it a dead letter
    assert (len(stub.subscribe_sent), statuses(live)) == (1, ["failed"])
    with live.app_context():
        error = extensions.session().scalar(select(WechatMessage.last_error))
    assert error is not None
    assert "may have reached the member" in error
    # Resending it is an operator's decision (it may arrive twice then).
    runner.invoke(cli, ["notifications", "retry"])
    assert send(live, now + LEASE + timedelta(seconds=2)).sent == 1
    assert len(stub.subscribe_sent) == 2


def test_two_workers_send_each_message_once(live: Flask, world: World, stub: WechatStub) -> None:
    member = user_id(world, "member")
    with live.app_context():
        session = extensions.session()
        told = [
            Told(
                member,
                Topic.TASK_CANCELLED,
                f"cancel-{n}",
                {"task_id": n, "task_title": f"任务{n}", "reason": "下雨"},
            )
            for n in range(40)
        ]
        write_notifications(session, told, extensions.wechat_templates(), utcnow())
        session.add(
            SubscriptionQuota(
                user_id=member, template_id=CANCELLED, remaining=30, updated_at=utcnow()
            )
        )
        session.commit()
    reports: list[SendReport] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            reports.append(send(live))
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(report.sent for report in reports) == 30
    assert sum(report.no_quota for report in reports) == 10
    pages = [message["page"] for message in stub.subscribe_sent]
    assert len(pages) == len(set(pages)) == 30
    assert allowance(live, CANCELLED) == 0
    assert sorted(set(statuses(live))) == [MessageStatus.NO_QUOTA.value, MessageStatus.SENT.value]


def test_the_worker_sends_what_is_due(live: Flask, world: World, stub: WechatStub) -> None:
    subscribe(live.test_client(), world, 1)
    approve(live, world)
    ran = live.test_cli_runner().invoke(cli, ["worker", "--once"])
    assert ran.exit_code == 0, ran.output
    assert (len(stub.subscribe_sent), statuses(live)) == (1, ["sent"])
    again = live.test_cli_runner().invoke(cli, ["notifications", "send"])
    assert "0 sent" in again.output
    assert len(stub.subscribe_sent) == 1


def test_an_http_error_from_wechat_is_tried_again_later(
    live: Flask, world: World, stub: WechatStub
) -> None:
    subscribe(live.test_client(), world, 1)
    approve(live, world)
    stub.fail_next(SUBSCRIBE_SEND, "bad gateway", status=502)
    now = utcnow()
    assert send(live, now).retrying == 1
    assert send(live, now + timedelta(minutes=2)).sent == 1
    assert len(stub.subscribe_sent) == 1


def test_no_answer_in_time_may_have_been_delivered_so_it_is_not_resent(
    make_app: AppFactory, world: World, stub: WechatStub
) -> None:
    impatient = make_app(
        **stub.settings_overrides(), wechat_templates=TEMPLATES, wechat_timeout_seconds=0.3
    )
    subscribe(impatient.test_client(), world, 1)
    approve(impatient, world)
    stub.fail_next(SUBSCRIBE_SEND, None, delay=1.0)  # answered, but after we gave up
    report = send(impatient)
    assert (report.sent, report.failed, report.outcomes) == (0, 1, {"unknown": 1})
    assert statuses(impatient) == ["failed"]
    assert allowance(impatient) == 0  # it may have used the member's allowance
    assert send(impatient, utcnow() + timedelta(hours=1)).outcomes == {}
