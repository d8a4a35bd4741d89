"""Check-ins and check-outs taken without signal (离线签到) and sent later, on a frozen
clock: judged as of the phone's stated time, in time or too late, never from the future
or before the sign-up, answered once per Idempotency-Key, and flagged for the approver."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api import extensions
from points.access import Role, ScopeType
from service.auth.tokens import issue_access_token
from service.db import utcnow
from service.people.models import RoleGrant, User
from service.tasks.models import Participation, Task
from service.tasks.no_shows import mark_no_shows
from tests.api.world import World, demo_task

# 09:00 in Beijing, on a code step's boundary; the task runs two hours from then.
START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
END = START + timedelta(hours=2)
SIGNED_UP = START - timedelta(hours=1)
TAKEN = START + timedelta(minutes=5)  # when the phone, without signal, checked in
BEIJING = timezone(timedelta(hours=8))
HERE = {"lat": 39.9163, "lng": 116.4039, "accuracy": 15}  # the demo task's own point


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=False):
        yield


def new_task(app: Flask, world: World, **changes: Any) -> int:
    with app.app_context():
        session = extensions.session()
        fields = demo_task(
            world.ids["community_A"], starts_at=START, ends_at=END, checkin_mode="geofence"
        )
        fields.update(changes)
        task = Task(**fields, status="published", created_by_id=world.ids["person_A"])
        session.add(task)
        session.commit()
        return task.id


def send(
    app: Flask,
    client: FlaskClient,
    world: World,
    role: str,
    moment: datetime,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    key: str | None = None,
) -> TestResponse:
    """Call /api/v1{path} as ``role`` with the clock at ``moment`` (a token of then)."""
    with frozen(moment):
        world.refresh_token(app, role)
        headers = {"Authorization": f"Bearer {world.tokens[role]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return client.open(f"/api/v1{path}", method=method, json=body, headers=headers)


def signed_up(app: Flask, client: FlaskClient, world: World, task: int, role: str) -> int:
    response = send(app, client, world, role, SIGNED_UP, "POST", f"/tasks/{task}/signups")
    assert response.status_code == 201, response.get_json()
    participation: int = response.get_json()["id"]
    return participation


def offline_body(taken_at: datetime, **more: Any) -> dict[str, Any]:
    # As the phone writes it: Beijing time with its offset.
    local = taken_at.astimezone(BEIJING)
    return {**HERE, "taken_at": local.isoformat(), **more}


def stored(app: Flask, participation_id: int) -> Participation:
    with app.app_context():
        row = extensions.session().get(Participation, participation_id)
        assert row is not None
        return row


def as_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_an_offline_check_in_arriving_within_12_hours_is_taken_and_one_second_later_is_not(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(app, world)
    mine, theirs = (signed_up(app, client, world, task, role) for role in ("member", "volunteer"))
    in_time = send(
        app,
        client,
        world,
        "member",
        TAKEN + timedelta(hours=12),
        "POST",
        f"/participations/{mine}/checkin",
        offline_body(TAKEN),
        key="offline-1",
    )
    assert in_time.status_code == 200, in_time.get_json()
    body = in_time.get_json()
    assert body["status"] == "checked_in"
    assert body["flags"] == ["offline"]
    assert as_time(body["checked_in_at"]) == TAKEN  # the stated time, not the arrival
    assert as_time(body["checkin_received_at"]) == TAKEN + timedelta(hours=12)

    too_late = send(
        app,
        client,
        world,
        "volunteer",
        TAKEN + timedelta(hours=12, seconds=1),
        "POST",
        f"/participations/{theirs}/checkin",
        offline_body(TAKEN),
        key="offline-2",
    )
    assert (too_late.status_code, too_late.get_json()["code"]) == (409, "offline_too_late")
    assert "taken_at" in too_late.get_json()["errors"]
    untouched = stored(app, theirs)
    assert (untouched.status, untouched.checked_in_at, untouched.failed_checkins) == (
        "signed_up",
        None,
        0,
    )


def test_an_offline_check_in_sent_after_the_no_show_sweep_clears_the_mark(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """In a stairwell without signal at 09:05; signal back after the task ended and the
    sweep had marked the sign-up a no-show: they came, so the mark and the seat return."""
    task = new_task(app, world)
    mine, absent = (signed_up(app, client, world, task, role) for role in ("member", "volunteer"))
    with app.app_context():
        assert mark_no_shows(extensions.unit_of_work(), END + timedelta(minutes=1)) == 2
    assert stored(app, mine).status == "no_show"
    late = send(
        app,
        client,
        world,
        "member",
        END + timedelta(hours=1),
        "POST",
        f"/participations/{mine}/checkin",
        offline_body(TAKEN),
        key="offline-after-sweep",
    )
    assert late.status_code == 200, late.get_json()
    assert (late.get_json()["status"], late.get_json()["flags"]) == ("checked_in", ["offline"])
    came = stored(app, mine)
    assert (came.no_show_at, came.checked_in_at) == (None, TAKEN)
    assert stored(app, absent).status == "no_show"
    with app.app_context():
        seats = extensions.session().get(Task, task)
        assert seats is not None
        assert seats.signed_up_count == 1
    # Online, the window has closed: the other no-show stays one.
    online = send(
        app,
        client,
        world,
        "volunteer",
        END + timedelta(hours=1),
        "POST",
        f"/participations/{absent}/checkin",
        HERE,
    )
    assert (online.status_code, online.get_json()["code"]) == (409, "invalid_transition")
    assert stored(app, absent).status == "no_show"


def test_the_limit_is_configurable(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = new_task(app, world)
    mine = signed_up(app, client, world, task, "member")
    an_hour = dataclasses.replace(app.config["LIANXIN_SETTINGS"], offline_checkin_hours=1)
    monkeypatch.setitem(app.config, "LIANXIN_SETTINGS", an_hour)
    late = send(
        app,
        client,
        world,
        "member",
        TAKEN + timedelta(hours=1, seconds=1),
        "POST",
        f"/participations/{mine}/checkin",
        offline_body(TAKEN),
        key="offline-1h",
    )
    assert (late.status_code, late.get_json()["code"]) == (409, "offline_too_late")
    assert late.get_json()["errors"] == {"taken_at": ["older than 1 h"]}


def test_a_device_time_ahead_of_the_server_beyond_the_skew_is_refused(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(app, world)
    mine = signed_up(app, client, world, task, "member")
    now = START + timedelta(minutes=10)
    ahead = send(
        app,
        client,
        world,
        "member",
        now,
        "POST",
        f"/participations/{mine}/checkin",
        offline_body(now + timedelta(minutes=2, seconds=1)),
        key="future",
    )
    assert (ahead.status_code, ahead.get_json()["code"]) == (422, "device_time_in_future")
    assert stored(app, mine).status == "signed_up"
    # Two minutes ahead is a phone's clock, not the future.
    skewed = send(
        app,
        client,
        world,
        "member",
        now,
        "POST",
        f"/participations/{mine}/checkin",
        offline_body(now + timedelta(minutes=2)),
        key="skewed",
    )
    assert skewed.status_code == 200, skewed.get_json()


def test_a_device_time_before_the_sign_up_is_refused(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(app, world)
    mine = signed_up(app, client, world, task, "member")
    before = send(
        app,
        client,
        world,
        "member",
        START,
        "POST",
        f"/participations/{mine}/checkin",
        offline_body(SIGNED_UP - timedelta(seconds=1)),
        key="before",
    )
    assert (before.status_code, before.get_json()["code"]) == (422, "device_time_before_signup")
    refused = stored(app, mine)
    assert (refused.status, refused.failed_checkins) == ("signed_up", 0)


def test_outside_the_window_at_the_stated_time_is_refused_though_open_now(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(app, world)
    mine = signed_up(app, client, world, task, "member")
    early = send(
        app,
        client,
        world,
        "member",
        START + timedelta(minutes=10),  # the window is open at arrival
        "POST",
        f"/participations/{mine}/checkin",
        offline_body(START - timedelta(minutes=31)),  # but it opened at START − 30 min
        key="early",
    )
    assert (early.status_code, early.get_json()["code"]) == (409, "outside_window")
    refused = stored(app, mine)
    assert (refused.status, refused.failed_checkins) == ("signed_up", 1)  # counted


def test_an_offline_check_in_needs_an_idempotency_key(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(app, world)
    mine = signed_up(app, client, world, task, "member")
    keyless = send(
        app,
        client,
        world,
        "member",
        TAKEN,
        "POST",
        f"/participations/{mine}/checkin",
        offline_body(TAKEN),
    )
    assert (keyless.status_code, keyless.get_json()["code"]) == (422, "idempotency_key_required")
    naive = send(
        app,
        client,
        world,
        "member",
        TAKEN,
        "POST",
        f"/participations/{mine}/checkin",
        {**HERE, "taken_at": "2026-11-02T09:05:00"},
        key="naive",
    )
    assert naive.status_code == 422
    assert "taken_at" in naive.get_json()["errors"]
    assert stored(app, mine).status == "signed_up"


def test_a_replayed_offline_check_in_gets_the_first_answer(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(app, world)
    mine = signed_up(app, client, world, task, "member")
    path = f"/participations/{mine}/checkin"
    first = send(
        app,
        client,
        world,
        "member",
        TAKEN + timedelta(hours=1),
        "POST",
        path,
        offline_body(TAKEN),
        key="queued-7",
    )
    assert first.status_code == 200, first.get_json()
    # The queue resends it (the answer was lost), even after the limit has passed.
    for later in (timedelta(hours=1, seconds=5), timedelta(hours=14)):
        again = send(
            app,
            client,
            world,
            "member",
            TAKEN + later,
            "POST",
            path,
            offline_body(TAKEN),
            key="queued-7",
        )
        assert (again.status_code, again.get_json()) == (200, first.get_json())
    after = stored(app, mine)
    assert (after.failed_checkins, after.checkin_received_at) == (0, TAKEN + timedelta(hours=1))
    # The same key with another body is a client bug; another key is a second check-in.
    reused = send(
        app,
        client,
        world,
        "member",
        TAKEN + timedelta(hours=2),
        "POST",
        path,
        offline_body(TAKEN + timedelta(minutes=1)),
        key="queued-7",
    )
    assert (reused.status_code, reused.get_json()["code"]) == (422, "idempotency_key_reused")
    second = send(
        app,
        client,
        world,
        "member",
        TAKEN + timedelta(hours=2),
        "POST",
        path,
        offline_body(TAKEN),
        key="queued-8",
    )
    assert (second.status_code, second.get_json()["code"]) == (409, "already_checked_in")
    # A closed account is not answered again, not even with its own first answer.
    with app.app_context():
        session = extensions.session()
        closed = session.get(User, stored(app, mine).user_id)
        assert closed is not None
        closed.active = False
        session.commit()
    gone = send(
        app,
        client,
        world,
        "member",
        TAKEN + timedelta(hours=2),
        "POST",
        path,
        offline_body(TAKEN),
        key="queued-7",
    )
    assert gone.status_code == 401


def test_someone_elses_participation_is_not_found_offline_either(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(app, world)
    mine = signed_up(app, client, world, task, "member")
    path = f"/participations/{mine}"
    for action in ("checkin", "checkout"):
        theirs = send(
            app,
            client,
            world,
            "volunteer",
            TAKEN + timedelta(hours=1),
            "POST",
            f"{path}/{action}",
            offline_body(TAKEN),
            key=f"not-mine-{action}",
        )
        assert (theirs.status_code, theirs.get_json()["code"]) == (404, "not_found")
    assert stored(app, mine).status == "signed_up"


def code_at(app: Flask, client: FlaskClient, world: World, task: int, moment: datetime) -> str:
    shown = send(app, client, world, "staff", moment, "GET", f"/tasks/{task}/checkin-code")
    assert shown.status_code == 200, shown.get_json()
    code: str = shown.get_json()["code"]
    return code


def test_the_code_is_judged_at_the_stated_time(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(app, world, checkin_mode="code")
    mine, theirs = (signed_up(app, client, world, task, role) for role in ("member", "volunteer"))
    code = code_at(app, client, world, task, TAKEN)
    arrival = TAKEN + timedelta(hours=3)  # the code expired hours ago
    valid_then = send(
        app,
        client,
        world,
        "member",
        arrival,
        "POST",
        f"/participations/{mine}/checkin",
        {"code": code, "taken_at": TAKEN.isoformat()},
        key="code-ok",
    )
    assert valid_then.status_code == 200, valid_then.get_json()
    assert valid_then.get_json()["flags"] == ["offline"]
    assert stored(app, mine).code_step is not None
    # Stated as taken three steps after it was shown: past the one step the phone's clock
    # is allowed, so out of the code's window at that time.
    stale = send(
        app,
        client,
        world,
        "volunteer",
        arrival,
        "POST",
        f"/participations/{theirs}/checkin",
        {"code": code, "taken_at": (TAKEN + timedelta(minutes=3)).isoformat()},
        key="code-stale",
    )
    assert (stale.status_code, stale.get_json()["code"]) == (409, "bad_checkin_code")
    refused = stored(app, theirs)
    assert (refused.status, refused.failed_checkins) == ("signed_up", 1)
    # A refusal spends no key: with the stated time the code was shown, it is taken.
    retried = send(
        app,
        client,
        world,
        "volunteer",
        arrival,
        "POST",
        f"/participations/{theirs}/checkin",
        {"code": code, "taken_at": (TAKEN + timedelta(seconds=30)).isoformat()},
        key="code-stale-2",
    )
    assert retried.status_code == 200, retried.get_json()


def test_impossible_travel_is_judged_between_the_stated_times(
    app: Flask, client: FlaskClient, world: World
) -> None:
    # Another task 11 km east, where the member checked in (online) at TAKEN.
    elsewhere = new_task(app, world, lng=116.5339, title="别处的任务")
    here = new_task(app, world)
    there = signed_up(app, client, world, elsewhere, "member")
    mine = signed_up(app, client, world, here, "member")
    at_there = send(
        app,
        client,
        world,
        "member",
        TAKEN,
        "POST",
        f"/participations/{there}/checkin",
        {"lat": 39.9163, "lng": 116.5339, "accuracy": 10},
    )
    assert at_there.status_code == 200, at_there.get_json()
    # Sent six hours later, it says it was taken here a minute after: 11 km in a minute.
    offline = send(
        app,
        client,
        world,
        "member",
        TAKEN + timedelta(hours=6),
        "POST",
        f"/participations/{mine}/checkin",
        offline_body(TAKEN + timedelta(minutes=1)),
        key="travel",
    )
    assert offline.status_code == 200, offline.get_json()
    assert offline.get_json()["flags"] == ["impossible_travel", "offline"]


def test_an_offline_check_out_counts_hours_from_the_stated_times_for_the_approver(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(app, world)
    mine = signed_up(app, client, world, task, "member")
    path = f"/participations/{mine}"
    checked_in = send(
        app,
        client,
        world,
        "member",
        TAKEN + timedelta(hours=4),
        "POST",
        f"{path}/checkin",
        offline_body(TAKEN),
        key="in",
    )
    assert checked_in.status_code == 200, checked_in.get_json()
    arrival = TAKEN + timedelta(hours=5)  # after the task's end
    backwards = send(
        app,
        client,
        world,
        "member",
        arrival,
        "POST",
        f"{path}/checkout",
        offline_body(TAKEN - timedelta(seconds=1)),
        key="out-0",
    )
    assert (backwards.status_code, backwards.get_json()["code"]) == (
        422,
        "checkout_before_checkin",
    )
    ahead = send(
        app,
        client,
        world,
        "member",
        arrival,
        "POST",
        f"{path}/checkout",
        offline_body(arrival + timedelta(minutes=3)),
        key="out-1",
    )
    assert (ahead.status_code, ahead.get_json()["code"]) == (422, "device_time_in_future")
    keyless = send(
        app,
        client,
        world,
        "member",
        arrival,
        "POST",
        f"{path}/checkout",
        offline_body(TAKEN + timedelta(minutes=90)),
    )
    assert (keyless.status_code, keyless.get_json()["code"]) == (422, "idempotency_key_required")
    assert stored(app, mine).status == "checked_in"

    left = TAKEN + timedelta(minutes=90)
    out = send(
        app,
        client,
        world,
        "member",
        arrival,
        "POST",
        f"{path}/checkout",
        offline_body(left),
        key="out-2",
    )
    assert out.status_code == 200, out.get_json()
    body = out.get_json()
    # 1 h 30 from the stated times; online at arrival it would have run to the end (1 h 55).
    assert (body["status"], Decimal(str(body["hours"])), body["flags"]) == (
        "checked_out",
        Decimal("1.5"),
        ["offline"],
    )
    assert (as_time(body["checked_out_at"]), as_time(body["checkout_received_at"])) == (
        left,
        arrival,
    )
    replay = send(
        app,
        client,
        world,
        "member",
        arrival + timedelta(minutes=1),
        "POST",
        f"{path}/checkout",
        offline_body(left),
        key="out-2",
    )
    assert (replay.status_code, replay.get_json()) == (200, body)

    submitted = send(
        app,
        client,
        world,
        "member",
        arrival,
        "POST",
        f"{path}/submit",
        {"note": "敲了三户", "units": 3},
    )
    assert submitted.status_code == 200, submitted.get_json()
    queue = send(app, client, world, "staff", arrival, "GET", "/approvals").get_json()["items"]
    [seen] = [p for p in queue if p["id"] == mine]
    assert seen["flags"] == ["offline"]
    assert (as_time(seen["checked_in_at"]), as_time(seen["checkin_received_at"])) == (
        TAKEN,
        TAKEN + timedelta(hours=4),
    )
    assert (as_time(seen["checked_out_at"]), as_time(seen["checkout_received_at"])) == (
        left,
        arrival,
    )
    # Staff of another community neither see it queued nor may approve it.
    with app.app_context():
        session = extensions.session()
        other = User(name="社区B工作人员", residence_place_id=world.ids["grid_B"])
        session.add(other)
        session.flush()
        session.add(
            RoleGrant(
                user_id=other.id,
                role=Role.STAFF.value,
                scope_type=ScopeType.PLACE.value,
                scope_id=world.ids["community_B"],
            )
        )
        session.commit()
        world.tokens["staff_B"] = issue_access_token(
            extensions.settings().secret_key,
            user_id=other.id,
            token_version=0,
            family="fam-staff-B",
            now=utcnow(),
        )
    theirs = send(app, client, world, "staff_B", arrival, "GET", "/approvals").get_json()["items"]
    assert mine not in [p["id"] for p in theirs]
    approve = send(app, client, world, "staff_B", arrival, "POST", f"{path}/approve")
    assert approve.status_code == 404
    assert stored(app, mine).status == "submitted"


def test_the_openapi_document_shows_the_mini_program_the_offline_shape(
    spec: dict[str, Any],
) -> None:
    schemas = spec["components"]["schemas"]
    for path, schema in (("checkin", "Checkin"), ("checkout", "Position")):
        operation = spec["paths"][f"/api/v1/participations/{{participation_id}}/{path}"]["post"]
        assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]
        assert schemas[schema]["properties"]["taken_at"]["format"] == "date-time"
    shown = schemas["Participation"]["properties"]
    assert {"checkin_received_at", "checkout_received_at"} <= shown.keys()
    assert "offline" in shown["flags"]["items"]["enum"]


def test_an_online_check_in_with_a_key_is_answered_once_too_and_not_flagged(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(app, world)
    mine = signed_up(app, client, world, task, "member")
    path = f"/participations/{mine}/checkin"
    first = send(app, client, world, "member", TAKEN, "POST", path, HERE, key="online-1")
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert (body["flags"], as_time(body["checked_in_at"]), body["checkin_received_at"]) == (
        [],
        TAKEN,
        None,
    )
    later = TAKEN + timedelta(minutes=1)
    again = send(app, client, world, "member", later, "POST", path, HERE, key="online-1")
    assert (again.status_code, again.get_json()) == (200, body)


def test_a_late_offline_check_in_for_a_task_cancelled_since_is_refused(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(app, world)
    mine = signed_up(app, client, world, task, "member")
    with app.app_context():
        assert mark_no_shows(extensions.unit_of_work(), END + timedelta(minutes=1)) == 1
    cancelled = send(
        app,
        client,
        world,
        "staff",
        END + timedelta(minutes=30),
        "POST",
        f"/tasks/{task}/cancel",
        {"reason": "活动记录作废"},
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    late = send(
        app,
        client,
        world,
        "member",
        END + timedelta(hours=1),
        "POST",
        f"/participations/{mine}/checkin",
        offline_body(TAKEN),
        key="after-cancel",
    )
    assert (late.status_code, late.get_json()["code"]) == (409, "task_not_open")
    assert stored(app, mine).status == "no_show"
