"""Resident demands: reporting, the staff's decisions, crediting an accepted report
once, and tasks that serve a demand."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api import extensions
from service.ledger.models import Transfer
from tests.api.community_helpers import balances, ledger_is_clean, publish_starter_rules
from tests.api.test_access_matrix import new_task_body
from tests.api.test_uploads import uploaded
from tests.api.world import World


@pytest.fixture
def rules(app: Flask, world: World) -> None:
    publish_starter_rules(app, world)


def report(client: FlaskClient, world: World, role: str = "resident", **more: Any) -> Any:
    body = {"category": "facility", "description": "3栋路灯不亮", "org_id": world.ids["grid_A"]}
    return world.call(client, role, "POST", "/demands", {**body, **more})


def reported(client: FlaskClient, world: World, role: str = "resident") -> int:
    response = report(client, world, role)
    assert response.status_code == 201, response.get_json()
    demand: int = response.get_json()["id"]
    return demand


def test_anyone_living_there_reports_and_staff_see_it(client: FlaskClient, world: World) -> None:
    photo = uploaded(client, world, "resident")
    created = report(client, world, address="3栋东侧", upload_ids=[photo])
    assert created.status_code == 201
    body = created.get_json()
    assert (body["status"], body["category"], body["address"], body["upload_ids"]) == (
        "submitted",
        "facility",
        "3栋东侧",
        [photo],
    )
    not_theirs = report(client, world, upload_ids=[uploaded(client, world, "member")])
    assert not_theirs.status_code == 422
    assert "upload_ids" in not_theirs.get_json()["errors"]
    # The clerk holds no role in the place but lives there.
    assert report(client, world, "clerk").status_code == 201
    assert world.call(client, "resident", "GET", f"/demands/{body['id']}").status_code == 200
    mine = world.call(client, "resident", "GET", "/me/demands").get_json()["items"]
    assert [d["id"] for d in mine] == [body["id"]]

    listed = world.call(client, "staff", "GET", "/demands?status=submitted").get_json()["items"]
    assert [d["id"] for d in listed][:2] == [world.ids["demand_A"], body["id"]]  # oldest first
    # Staff see the reporter's photo through a link that needs no token.
    (shown,) = listed[1]["photos"]
    assert shown["id"] == photo
    assert client.get(shown["url"]).mimetype == "image/jpeg"
    assert world.call(client, "staff", "GET", "/demands?status=accepted").get_json()["items"] == []
    other = world.call(client, "staff", "GET", f"/demands?org_id={world.ids['community_B']}")
    assert other.get_json()["items"] == []
    assert world.call(client, "resident", "GET", "/demands").status_code == 403
    assert world.call(client, "staff", "GET", "/demands?status=lost").status_code == 422


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"category": "noise"}, 422, "category"),
        ({"description": ""}, 422, "description"),
        ({"org_id": None}, 422, "org_id"),
        ({"upload_ids": ["x"]}, 422, "upload_ids"),
    ],
)
def test_bad_reports_say_which_field(
    client: FlaskClient, world: World, change: dict[str, Any], status: int, field: str
) -> None:
    refused = report(client, world, **change)
    assert refused.status_code == status
    assert field in refused.get_json()["errors"]


def test_nobody_reports_where_they_do_not_live(client: FlaskClient, world: World) -> None:
    refused = report(client, world, org_id=world.ids["grid_B"])
    assert refused.status_code == 404
    assert report(client, world, org_id=999_999).status_code == 404


def test_accepting_credits_the_reporter_once(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    demand = reported(client, world)
    accepted = world.call(client, "staff", "POST", f"/demands/{demand}/accept")
    assert accepted.status_code == 200
    body = accepted.get_json()
    assert body["demand"]["status"] == "accepted"
    assert body["demand"]["accepted_at"]
    assert {t["currency"]: t["amount"] for t in body["transfers"]} == {"jifen": 3, "xingfubi": 2}
    assert body["transfers"][0]["explanation"].startswith("问题上报")
    twice = world.call(client, "admin", "POST", f"/demands/{demand}/accept")
    assert (twice.status_code, twice.get_json()["code"]) == (409, "invalid_transition")
    assert balances(client, world, "resident") == {"jifen": 3, "xingfubi": 2}
    with app.app_context():
        keys = extensions.session().scalars(
            select(Transfer.idempotency_key).where(Transfer.source == f"demand:{demand}")
        )
        assert sorted(keys) == [f"earn:demand:{demand}:jifen", f"earn:demand:{demand}:xingfubi"]
    assert ledger_is_clean(app)


def test_steps_out_of_turn_are_refused(client: FlaskClient, world: World, rules: None) -> None:
    demand = reported(client, world)
    early = world.call(
        client, "staff", "POST", f"/demands/{demand}/resolve", {"resolution": "修好"}
    )
    assert (early.status_code, early.get_json()["code"]) == (409, "invalid_transition")
    assert world.call(client, "staff", "POST", f"/demands/{demand}/close").status_code == 409
    world.call(client, "staff", "POST", f"/demands/{demand}/accept")
    # Accepted but not yet done: nothing to verify or publish, and 反馈 comes from an owner.
    for step, body in (("verify", {}), ("publish", {"summary": "已修好"})):
        refused = world.call(client, "staff", "POST", f"/demands/{demand}/{step}", body)
        assert (refused.status_code, refused.get_json()["code"]) == (409, "invalid_transition")
    assert world.call(client, "staff", "POST", f"/demands/{demand}/resolve", {}).status_code == 422
    again = world.call(client, "admin", "POST", f"/demands/{demand}/accept")
    assert (again.status_code, again.get_json()["code"]) == (409, "invalid_transition")
    assert balances(client, world, "resident") == {"jifen": 3, "xingfubi": 2}


def test_an_accepted_demand_may_close_without_a_resolution(
    client: FlaskClient, world: World
) -> None:
    demand = reported(client, world)
    world.call(client, "staff", "POST", f"/demands/{demand}/accept")
    assert world.call(client, "staff", "POST", f"/demands/{demand}/close").status_code == 200


def test_declining_needs_a_reason_and_credits_nothing(
    client: FlaskClient, world: World, rules: None
) -> None:
    demand = reported(client, world)
    assert world.call(client, "staff", "POST", f"/demands/{demand}/decline", {}).status_code == 422
    declined = world.call(
        client, "staff", "POST", f"/demands/{demand}/decline", {"reason": "属于物业职责"}
    )
    assert declined.status_code == 200
    assert (declined.get_json()["status"], declined.get_json()["decline_reason"]) == (
        "declined",
        "属于物业职责",
    )
    late = world.call(client, "staff", "POST", f"/demands/{demand}/accept")
    assert (late.status_code, late.get_json()["code"]) == (409, "invalid_transition")
    assert balances(client, world, "resident") == {"jifen": 0, "xingfubi": 0}


def test_nobody_handles_their_own_demand(client: FlaskClient, world: World, rules: None) -> None:
    demand = reported(client, world, role="staff")
    own = world.call(client, "staff", "POST", f"/demands/{demand}/accept")
    assert (own.status_code, own.get_json()["code"]) == (403, "self_approval")
    assert world.call(client, "admin", "POST", f"/demands/{demand}/accept").status_code == 200
    # Staff are not paid by rule; they report as residents, who are.
    assert balances(client, world, "staff") == {"jifen": 3, "xingfubi": 2}


def test_another_communitys_staff_cannot_see_or_decide(client: FlaskClient, world: World) -> None:
    demand_b = world.ids["demand_B"]
    assert world.call(client, "staff", "GET", f"/demands/{demand_b}").status_code == 404
    assert world.call(client, "staff", "POST", f"/demands/{demand_b}/accept").status_code == 404
    assert (
        world.call(client, "member", "GET", f"/demands/{world.ids['demand_A']}").status_code == 403
    )


def test_a_task_may_serve_an_open_demand_in_scope(client: FlaskClient, world: World) -> None:
    body = new_task_body(world.ids["community_A"])
    accepted = world.call(client, "staff", "POST", f"/demands/{world.ids['demand_A']}/accept")
    assert accepted.status_code == 200
    served = world.call(
        client, "staff", "POST", "/tasks", {**body, "demand_id": world.ids["demand_A"]}
    )
    assert served.status_code == 201, served.get_json()
    assert served.get_json()["demand_id"] == world.ids["demand_A"]
    elsewhere = world.call(
        client, "staff", "POST", "/tasks", {**body, "demand_id": world.ids["demand_B"]}
    )
    assert (elsewhere.status_code, elsewhere.get_json()["errors"]) == (
        404,
        {"demand_id": ["no such demand"]},
    )
    assert (
        world.call(client, "staff", "POST", "/tasks", {**body, "demand_id": 999_999}).status_code
        == 404
    )
    demand = reported(client, world)
    world.call(client, "staff", "POST", f"/demands/{demand}/decline", {"reason": "重复"})
    closed = world.call(client, "staff", "POST", "/tasks", {**body, "demand_id": demand})
    assert (closed.status_code, closed.get_json()["code"]) == (409, "demand_not_open")
