"""Signing up for tasks and withdrawing."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from api import extensions
from service.db import utcnow
from service.tasks.models import Task
from tests.api.test_access_matrix import new_task_body
from tests.api.world import World


def new_task(client: FlaskClient, world: World, **changes: object) -> int:
    body = {**new_task_body(world.ids["community_A"]), "publish": True, **changes}
    response = world.call(client, "staff", "POST", "/tasks", body)
    assert response.status_code == 201, response.get_json()
    task_id: int = response.get_json()["id"]
    return task_id


def seats(app: Flask, task_id: int) -> int:
    with app.app_context():
        task = extensions.session().get(Task, task_id)
        assert task is not None
        return task.signed_up_count


def test_sign_up_once_withdraw_and_sign_up_again(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(client, world)
    signed = world.call(client, "member", "POST", f"/tasks/{task}/signups")
    assert signed.status_code == 201
    body = signed.get_json()
    assert (body["status"], body["task_id"], body["role"]) == ("signed_up", task, "member")
    assert seats(app, task) == 1
    twice = world.call(client, "member", "POST", f"/tasks/{task}/signups")
    assert twice.status_code == 409
    assert twice.get_json()["code"] == "already_signed_up"
    assert seats(app, task) == 1

    withdrawn = world.call(client, "member", "POST", f"/participations/{body['id']}/cancel")
    assert withdrawn.get_json()["status"] == "cancelled"
    assert seats(app, task) == 0
    again = world.call(client, "member", "POST", f"/tasks/{task}/signups")
    assert again.status_code == 201
    assert again.get_json()["id"] == body["id"]
    assert seats(app, task) == 1
    mine = world.call(client, "member", "GET", "/me/participations").get_json()["items"]
    assert [p["id"] for p in mine] == [body["id"]]


def test_a_full_task_refuses_more(app: Flask, client: FlaskClient, world: World) -> None:
    task = new_task(client, world, capacity=1)
    assert world.call(client, "member", "POST", f"/tasks/{task}/signups").status_code == 201
    full = world.call(client, "volunteer", "POST", f"/tasks/{task}/signups")
    assert full.status_code == 409
    assert full.get_json()["code"] == "task_full"
    assert seats(app, task) == 1


def test_members_only_tasks_refuse_volunteers(client: FlaskClient, world: World) -> None:
    task = new_task(client, world, audience="members")
    refused = world.call(client, "volunteer", "POST", f"/tasks/{task}/signups")
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "not_in_audience"
    assert world.call(client, "member", "POST", f"/tasks/{task}/signups").status_code == 201


def test_drafts_and_closed_tasks_take_no_sign_ups(client: FlaskClient, world: World) -> None:
    draft = world.call(client, "member", "POST", f"/tasks/{world.ids['draft_task_A']}/signups")
    assert draft.status_code == 404
    task = new_task(client, world)
    world.call(client, "staff", "POST", f"/tasks/{task}/close")
    closed = world.call(client, "member", "POST", f"/tasks/{task}/signups")
    assert closed.status_code == 409
    assert closed.get_json()["code"] == "task_not_open"


def test_withdrawing_after_the_start_is_refused(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(client, world)
    signed = world.call(client, "member", "POST", f"/tasks/{task}/signups").get_json()
    with app.app_context():
        session = extensions.session()
        row = session.get(Task, task)
        assert row is not None
        row.starts_at = utcnow() - timedelta(minutes=5)
        session.commit()
    late = world.call(client, "member", "POST", f"/participations/{signed['id']}/cancel")
    assert late.status_code == 409
    assert late.get_json()["code"] == "cancel_too_late"
    assert seats(app, task) == 1
