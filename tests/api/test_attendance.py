"""Checking in and out: the window, the fence, the code, and what is flagged."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import extensions
from service.db import utcnow
from service.people.models import User
from service.tasks.models import Participation, Task
from tests.api.world import World, demo_task

HERE = {"lat": 39.9163, "lng": 116.4039, "accuracy": 15}  # the demo task's own point
FAR = {"lat": 39.9263, "lng": 116.4039, "accuracy": 15}  # about 1.1 km north


def task_now(app: Flask, world: World, **changes: Any) -> int:
    """A published task that started ten minutes ago, in community A."""
    with app.app_context():
        session = extensions.session()
        starts = utcnow() - timedelta(minutes=10)
        fields = demo_task(
            world.ids["community_A"],
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            checkin_mode="geofence",
        )
        fields.update(changes)
        task = Task(**fields, status="published", created_by_id=world.ids["person_A"])
        session.add(task)
        session.commit()
        return task.id


def sign_up(client: FlaskClient, world: World, task_id: int, role: str = "member") -> int:
    response = world.call(client, role, "POST", f"/tasks/{task_id}/signups")
    assert response.status_code == 201, response.get_json()
    participation: int = response.get_json()["id"]
    return participation


def stored(app: Flask, participation_id: int) -> Participation:
    with app.app_context():
        row = extensions.session().get(Participation, participation_id)
        assert row is not None
        return row


def test_inside_the_fence_checks_in_and_outside_is_refused_counted_and_flagged(
    app: Flask, client: FlaskClient, world: World
) -> None:
    mine = sign_up(client, world, task_now(app, world))
    far = world.call(client, "member", "POST", f"/participations/{mine}/checkin", FAR)
    assert far.status_code == 409
    assert far.get_json()["code"] == "outside_geofence"
    refused = stored(app, mine)
    assert (refused.status, refused.failed_checkins, refused.flags) == (
        "signed_up",
        1,
        ["outside_geofence"],
    )
    assert refused.checkin_distance_m is not None
    assert refused.checkin_distance_m > 1000

    inside = world.call(client, "member", "POST", f"/participations/{mine}/checkin", HERE)
    assert inside.status_code == 200
    body = inside.get_json()
    assert body["status"] == "checked_in"
    assert body["checkin_distance_m"] < 1
    assert body["flags"] == ["outside_geofence"]  # the approver still sees the first try
    again = world.call(client, "member", "POST", f"/participations/{mine}/checkin", HERE)
    assert again.status_code == 409
    assert again.get_json()["code"] == "already_checked_in"


def test_a_phone_claiming_poor_accuracy_gains_at_most_100_m(
    app: Flask, client: FlaskClient, world: World
) -> None:
    mine = sign_up(client, world, task_now(app, world))
    vague = {**FAR, "accuracy": 5000}
    response = world.call(client, "member", "POST", f"/participations/{mine}/checkin", vague)
    assert response.status_code == 409


def test_checking_in_with_the_rotating_code(app: Flask, client: FlaskClient, world: World) -> None:
    task = task_now(app, world, checkin_mode="code")
    mine = sign_up(client, world, task)
    theirs = sign_up(client, world, task, role="volunteer")
    shown = world.call(client, "staff", "GET", f"/tasks/{task}/checkin-code").get_json()
    assert len(shown["scene"]) <= 32
    wrong = str((int(shown["code"]) + 1) % 1_000_000).zfill(6)
    bad = world.call(
        client, "volunteer", "POST", f"/participations/{theirs}/checkin", {"code": wrong}
    )
    assert bad.status_code == 409
    assert bad.get_json()["code"] == "bad_checkin_code"
    ok = world.call(
        client, "member", "POST", f"/participations/{mine}/checkin", {"code": shown["code"]}
    )
    assert ok.status_code == 200
    assert stored(app, mine).code_step is not None
    # Another task's code is no good here.
    other = task_now(app, world, checkin_mode="code", title="另一个任务")
    other_code = world.call(client, "staff", "GET", f"/tasks/{other}/checkin-code").get_json()
    cross = world.call(
        client,
        "volunteer",
        "POST",
        f"/participations/{theirs}/checkin",
        {"code": other_code["code"]},
    )
    assert cross.status_code == 409


def test_outside_the_window_is_refused(app: Flask, client: FlaskClient, world: World) -> None:
    later = utcnow() + timedelta(hours=2)
    task = task_now(app, world, starts_at=later, ends_at=later + timedelta(hours=1))
    mine = sign_up(client, world, task)
    early = world.call(client, "member", "POST", f"/participations/{mine}/checkin", HERE)
    assert early.status_code == 409
    assert early.get_json()["code"] == "outside_window"
    assert stored(app, mine).failed_checkins == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"lat": 39.9},
        {"lat": 91, "lng": 116, "accuracy": 5},
        {"lat": 39.9, "lng": 116.4, "accuracy": -1},
    ],
)
def test_a_geofenced_check_in_needs_a_position(
    app: Flask, client: FlaskClient, world: World, body: dict[str, Any]
) -> None:
    mine = sign_up(client, world, task_now(app, world))
    response = world.call(client, "member", "POST", f"/participations/{mine}/checkin", body)
    assert response.status_code == 422
    row = stored(app, mine)
    assert (row.status, row.failed_checkins) == ("signed_up", 0)


def test_repeated_failures_are_flagged(app: Flask, client: FlaskClient, world: World) -> None:
    mine = sign_up(client, world, task_now(app, world))
    for _ in range(3):
        world.call(client, "member", "POST", f"/participations/{mine}/checkin", FAR)
    assert stored(app, mine).flags == ["outside_geofence", "repeated_failures"]


def test_impossible_travel_between_check_ins_is_flagged(
    app: Flask, client: FlaskClient, world: World
) -> None:
    here = sign_up(client, world, task_now(app, world))
    assert (
        world.call(client, "member", "POST", f"/participations/{here}/checkin", HERE).status_code
        == 200
    )
    # Ten minutes' drive can't cover the 110 km to a task in another town.
    away = task_now(app, world, title="外地任务", lat=40.9163, lng=116.4039)
    there = sign_up(client, world, away)
    response = world.call(
        client,
        "member",
        "POST",
        f"/participations/{there}/checkin",
        {"lat": 40.9163, "lng": 116.4039, "accuracy": 10},
    )
    assert response.status_code == 200
    assert response.get_json()["flags"] == ["impossible_travel"]


def test_check_out_counts_hours_within_the_window(
    app: Flask, client: FlaskClient, world: World
) -> None:
    started = utcnow() - timedelta(hours=3)
    task = task_now(app, world, starts_at=started, ends_at=started + timedelta(hours=5))
    mine = sign_up(client, world, task)
    world.call(client, "member", "POST", f"/participations/{mine}/checkin", HERE)
    with app.app_context():
        session = extensions.session()
        row = session.get(Participation, mine)
        assert row is not None
        row.checked_in_at = utcnow() - timedelta(hours=2)
        session.commit()
    out = world.call(client, "member", "POST", f"/participations/{mine}/checkout", FAR)
    assert out.status_code == 200
    body = out.get_json()
    assert body["status"] == "checked_out"
    assert abs(Decimal(str(body["hours"])) - Decimal("2.00")) <= Decimal("0.01")
    assert "outside_geofence" in body["flags"]  # left from elsewhere: flagged, not refused
    twice = world.call(client, "member", "POST", f"/participations/{mine}/checkout", HERE)
    assert twice.status_code == 409
    assert twice.get_json()["code"] == "invalid_transition"


@pytest.mark.parametrize(
    ("change", "code"),
    [("sign_out_everywhere", "token_outdated"), ("disable", "invalid_token")],
)
@pytest.mark.parametrize("whose", ["own", "someone_elses"])
def test_check_in_confirms_the_callers_account_and_refuses_before_changing_anything(
    app: Flask, client: FlaskClient, world: World, change: str, code: str, whose: str
) -> None:
    """Check-in confirms the account in its own query (api/authentication.py
    CONFIRMED_BY_USE_CASE): a token outdated or of a disabled account is 401 there too,
    for a participation of one's own or of someone else (not 404), and nothing moves."""
    task_id = task_now(app, world)
    mine = sign_up(client, world, task_id)
    theirs = sign_up(client, world, task_id, role="volunteer")
    target = mine if whose == "own" else theirs
    with app.app_context():
        session = extensions.session()
        member = session.get(User, stored(app, mine).user_id)
        assert member is not None
        if change == "disable":
            member.active = False
        else:
            member.token_version += 1
        session.commit()
    refused = world.call(client, "member", "POST", f"/participations/{target}/checkin", HERE)
    assert refused.status_code == 401
    assert refused.get_json()["code"] == code
    for participation_id in (mine, theirs):
        untouched = stored(app, participation_id)
        assert (untouched.status, untouched.failed_checkins, untouched.checked_in_at) == (
            "signed_up",
            0,
            None,
        )


def test_check_in_of_someone_elses_participation_is_404(
    app: Flask, client: FlaskClient, world: World
) -> None:
    theirs = sign_up(client, world, task_now(app, world), role="volunteer")
    response = world.call(client, "member", "POST", f"/participations/{theirs}/checkin", HERE)
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"
    assert stored(app, theirs).status == "signed_up"
