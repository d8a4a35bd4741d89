"""Editing a task (PATCH /tasks/{id}): what may change at which point of its life, one
edit per version, and what those signed up see of it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api import extensions
from service.db import utcnow
from service.outbox.models import OutboxMessage
from service.tasks.models import Task, TaskChange
from tests.api.test_access_matrix import new_task_body
from tests.api.test_attendance import HERE
from tests.api.world import World


def posted(client: FlaskClient, world: World, **changes: Any) -> dict[str, Any]:
    body = {**new_task_body(world.ids["community_A"]), "publish": True, **changes}
    made = world.call(client, "staff", "POST", "/tasks", body)
    assert made.status_code == 201, made.get_json()
    task: dict[str, Any] = made.get_json()
    return task


def edit(
    client: FlaskClient, world: World, task: dict[str, Any], role: str = "staff", **fields: Any
) -> Any:
    body = {"version": task["version"], **fields}
    return world.call(client, role, "PATCH", f"/tasks/{task['id']}", body)


def stored(app: Flask, task_id: int) -> Task:
    with app.app_context():
        task = extensions.session().get(Task, task_id)
        assert task is not None
        return task


def changes_of(app: Flask, task_id: int) -> list[TaskChange]:
    with app.app_context():
        return list(
            extensions.session().scalars(
                select(TaskChange).where(TaskChange.task_id == task_id).order_by(TaskChange.id)
            )
        )


def sign_up(
    client: FlaskClient, world: World, task_id: int, role: str = "member"
) -> dict[str, Any]:
    response = world.call(client, role, "POST", f"/tasks/{task_id}/signups")
    assert response.status_code == 201, response.get_json()
    signed: dict[str, Any] = response.get_json()
    return signed


def iso(moment: datetime) -> str:
    return moment.isoformat()


def test_a_typo_is_fixed_and_those_signed_up_see_what_changed_since(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = posted(client, world, title="敲门形动", address="幸福小区3栋")
    assert (task["version"], task["updated_at"]) == (1, None)
    signed = sign_up(client, world, task["id"])

    fixed = edit(client, world, task, title="敲门行动", address="幸福小区3号楼", note="改正错字")
    assert fixed.status_code == 200, fixed.get_json()
    body = fixed.get_json()
    assert (body["title"], body["address"], body["version"]) == ("敲门行动", "幸福小区3号楼", 2)
    assert body["updated_at"] > signed["signed_up_at"]

    # The member reads the task and what changed, field by field, since they signed up.
    seen = world.call(client, "member", "GET", f"/tasks/{task['id']}").get_json()
    assert (seen["title"], seen["version"], seen["updated_at"]) == (
        "敲门行动",
        2,
        body["updated_at"],
    )
    changes = world.call(client, "member", "GET", f"/tasks/{task['id']}/changes").get_json()
    assert changes["next_cursor"] is None
    [change] = changes["items"]
    assert change["version"] == 2
    assert change["note"] == "改正错字"
    assert change["changes"] == {
        "title": {"before": "敲门形动", "after": "敲门行动"},
        "address": {"before": "幸福小区3栋", "after": "幸福小区3号楼"},
    }
    assert change["changed_by_id"] == stored(app, task["id"]).created_by_id

    # The hook for notifications: one durable message, acknowledged (nobody waits on it).
    with app.app_context():
        [message] = extensions.session().scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "task.edited")
        )
        assert message.payload == {
            "task_id": task["id"],
            "version": 2,
            "fields": ["title", "address"],
        }
        assert message.handled_at is not None


def test_an_edit_made_against_an_old_version_is_refused_and_loses_nothing(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = posted(client, world, capacity=5)
    first = edit(client, world, task, capacity=8)
    assert first.status_code == 200
    # A second editor still looking at version 1.
    stale = edit(client, world, task, role="admin", capacity=6, title="巡逻")
    assert stale.status_code == 409
    assert stale.get_json()["code"] == "task_changed"
    kept = stored(app, task["id"])
    assert (kept.capacity, kept.title, kept.version) == (8, task["title"], 2)
    assert [change.version for change in changes_of(app, task["id"])] == [2]
    # Reloaded, the second edit lands on top of the first.
    again = edit(client, world, {**task, "version": 2}, role="admin", title="巡逻")
    assert (again.status_code, again.get_json()["capacity"], again.get_json()["version"]) == (
        200,
        8,
        3,
    )


def test_an_edit_that_changes_nothing_makes_no_version(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = posted(client, world)
    same = edit(client, world, task, title=task["title"], capacity=task["capacity"])
    assert (same.status_code, same.get_json()["version"]) == (200, 1)
    assert changes_of(app, task["id"]) == []
    assert stored(app, task["id"]).updated_at is None


def test_capacity_shrinks_to_the_seats_taken_and_no_further(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = posted(client, world, capacity=5)
    sign_up(client, world, task["id"], "member")
    sign_up(client, world, task["id"], "volunteer")
    below = edit(client, world, task, capacity=1)
    assert below.status_code == 409
    assert below.get_json()["code"] == "capacity_below_signups"
    assert below.get_json()["errors"] == {"capacity": ["at least 2"]}
    assert stored(app, task["id"]).capacity == 5
    down = edit(client, world, task, capacity=2)
    assert (down.status_code, down.get_json()["capacity"]) == (200, 2)
    kept = stored(app, task["id"])
    assert (kept.capacity, kept.signed_up_count) == (2, 2)


def test_the_window_moves_until_someone_checks_in_but_the_words_and_pin_always(
    app: Flask, client: FlaskClient, world: World
) -> None:
    starts = utcnow() + timedelta(minutes=10)  # check-in opens 30 minutes before
    task = posted(
        client,
        world,
        starts_at=iso(starts),
        ends_at=iso(starts + timedelta(hours=2)),
        checkin_mode="geofence",
    )
    signed = sign_up(client, world, task["id"])
    later = edit(client, world, task, starts_at=iso(starts + timedelta(minutes=5)))
    assert later.status_code == 200, later.get_json()
    task = later.get_json()

    checked_in = world.call(
        client, "member", "POST", f"/participations/{signed['id']}/checkin", HERE
    )
    assert checked_in.status_code == 200, checked_in.get_json()
    before = stored(app, task["id"])
    for fields in (
        {"starts_at": iso(starts + timedelta(hours=1))},
        {"ends_at": iso(starts + timedelta(hours=5))},
        {"work_unit": "hours"},
        {"type": "patrol"},
        {"category": "safety"},
        {"checkin_mode": "code"},
    ):
        refused = edit(client, world, task, **fields)
        assert refused.status_code == 409, fields
        assert refused.get_json()["code"] == "task_under_way"
        assert set(refused.get_json()["errors"]) == set(fields)
    after = stored(app, task["id"])
    assert (after.starts_at, after.ends_at, after.type, after.version) == (
        before.starts_at,
        before.ends_at,
        before.type,
        before.version,
    )
    # A wrong pin keeps the others out: it is still fixed, and so is the text.
    moved = edit(
        client,
        world,
        task,
        lat=39.9170,
        radius_m=500,
        description="从北门进",
        title="敲门行动（北门）",
    )
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["lat"], moved.get_json()["radius_m"]) == (39.9170, 500)


def test_the_place_moves_only_within_the_editors_scope_and_only_while_nobody_is_signed_up(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = posted(client, world)
    # Staff of community A don't manage B's places: the place they name doesn't exist
    # for them, and nothing changes.
    away = edit(client, world, task, org_id=world.ids["community_B"])
    assert (away.status_code, away.get_json()["code"]) == (404, "not_found")
    assert stored(app, task["id"]).place_id == world.ids["community_A"]
    moved = edit(client, world, task, org_id=world.ids["grid_A"])
    assert (moved.status_code, moved.get_json()["org_id"]) == (200, world.ids["grid_A"])
    task = moved.get_json()

    sign_up(client, world, task["id"])
    back = edit(client, world, task, org_id=world.ids["community_A"])
    assert back.status_code == 409
    assert back.get_json()["code"] == "task_has_signups"
    assert back.get_json()["errors"] == {"org_id": ["fixed once anyone has signed up"]}
    narrower = edit(client, world, task, audience="members")
    assert narrower.get_json()["code"] == "task_has_signups"
    assert stored(app, task["id"]).audience == "everyone"

    # The street's admin could place it anywhere in the street, but not under a signed-up member.
    root = edit(client, world, task, role="root", org_id=world.ids["community_B"])
    assert root.get_json()["code"] == "task_has_signups"
    assert stored(app, task["id"]).place_id == world.ids["grid_A"]


def test_widening_the_audience_is_taken_with_people_signed_up(
    client: FlaskClient, world: World
) -> None:
    task = posted(client, world, audience="members")
    sign_up(client, world, task["id"], "member")
    wider = edit(client, world, task, audience="everyone")
    assert (wider.status_code, wider.get_json()["audience"]) == (200, "everyone")


@pytest.mark.parametrize("ending", ["close", "cancel"])
def test_a_closed_or_cancelled_task_is_not_edited(
    app: Flask, client: FlaskClient, world: World, ending: str
) -> None:
    task = posted(client, world)
    body = {"reason": "暴雨"} if ending == "cancel" else None
    assert (
        world.call(client, "staff", "POST", f"/tasks/{task['id']}/{ending}", body).status_code
        == 200
    )
    refused = edit(client, world, task, title="新标题")
    assert (refused.status_code, refused.get_json()["code"]) == (409, "task_not_editable")
    assert stored(app, task["id"]).title == task["title"]


def test_a_draft_is_edited_too(client: FlaskClient, world: World) -> None:
    task = posted(client, world, publish=False)
    assert task["status"] == "draft"
    changed = edit(client, world, task, capacity=9, type="patrol", category="safety")
    assert (changed.status_code, changed.get_json()["type"]) == (200, "patrol")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, "invalid_input"),  # nothing to change
        ({"ends_at": iso(utcnow() + timedelta(days=6))}, "invalid_input"),  # before the start
        (
            {
                "starts_at": iso(utcnow() - timedelta(days=3)),
                "ends_at": iso(utcnow() - timedelta(days=2)),
            },
            "invalid_input",
        ),  # over already
        ({"starts_at": "2027-01-01T09:00:00"}, "validation_error"),  # no offset
        ({"lat": 91}, "validation_error"),
        ({"capacity": 0}, "validation_error"),
        ({"capacity": 2.5}, "validation_error"),
        ({"radius_m": 1}, "validation_error"),
        ({"category": "sports"}, "validation_error"),
        ({"status": "closed"}, "validation_error"),  # status moves by its own steps
        ({"signed_up_count": 0}, "validation_error"),
        ({"demand_id": 1}, "validation_error"),
        ({"title": ""}, "validation_error"),
        ({"org_id": 999999}, "not_found"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(
    app: Flask, client: FlaskClient, world: World, fields: dict[str, Any], code: str
) -> None:
    task = posted(client, world)
    response = edit(client, world, task, **fields)
    assert 400 <= response.status_code < 500
    assert response.get_json()["code"] == code
    kept = stored(app, task["id"])
    assert (kept.version, kept.title, kept.capacity, kept.updated_at) == (
        1,
        task["title"],
        task["capacity"],
        None,
    )
    assert changes_of(app, task["id"]) == []


def test_an_edit_without_its_version_is_refused(client: FlaskClient, world: World) -> None:
    task = posted(client, world)
    response = world.call(client, "staff", "PATCH", f"/tasks/{task['id']}", {"title": "新标题"})
    assert response.status_code == 422
    assert "version" in response.get_json()["errors"]


@pytest.mark.parametrize("role", ["member", "volunteer", "clerk", "dept_officer"])
def test_only_those_who_manage_the_task_edit_it(
    app: Flask, client: FlaskClient, world: World, role: str
) -> None:
    task = posted(client, world)
    response = edit(client, world, task, role=role, title="我来改")
    assert response.status_code == 404
    assert stored(app, task["id"]).title == task["title"]


def test_changes_page_newest_first(client: FlaskClient, world: World) -> None:
    task = posted(client, world, capacity=5)
    for version, capacity in enumerate((6, 7, 8), start=1):
        assert (
            edit(client, world, {**task, "version": version}, capacity=capacity).status_code == 200
        )
    first = world.call(client, "member", "GET", f"/tasks/{task['id']}/changes?limit=2").get_json()
    assert [change["version"] for change in first["items"]] == [4, 3]
    rest = world.call(
        client,
        "member",
        "GET",
        f"/tasks/{task['id']}/changes?limit=2&cursor={first['next_cursor']}",
    ).get_json()
    assert [change["version"] for change in rest["items"]] == [2]
    assert rest["next_cursor"] is None
