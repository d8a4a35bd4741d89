"""Awards, deductions and reversals by staff, and their second confirmation."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api import extensions
from service.ledger.models import Adjustment
from service.ledger.posting import post
from tests.api.world import World
from tests.ledger_helpers import credit, spend_request


def balances(client: FlaskClient, world: World, person: int) -> dict[str, int]:
    items = world.call(client, "staff", "GET", f"/users/{person}/accounts").get_json()["items"]
    return {item["currency"]: item["balance"] for item in items}


def adjust(
    client: FlaskClient,
    world: World,
    role: str,
    amount: int,
    kind: str = "award",
    currency: str = "jifen",
) -> Any:
    return world.call(
        client,
        role,
        "POST",
        f"/users/{world.ids['person_A']}/adjustments",
        {"kind": kind, "currency": currency, "amount": amount, "reason": "抗疫志愿服务"},
    )


def test_a_small_award_posts_at_once_with_its_reason(client: FlaskClient, world: World) -> None:
    person = world.ids["person_A"]
    before = balances(client, world, person)["jifen"]
    response = adjust(client, world, "staff", 50)
    assert response.status_code == 201
    assert response.get_json()["status"] == "posted"
    assert balances(client, world, person)["jifen"] == before + 50
    newest = world.call(client, "staff", "GET", f"/users/{person}/transfers").get_json()
    assert (newest["items"][0]["kind"], newest["items"][0]["explanation"]) == (
        "award",
        "抗疫志愿服务",
    )


def test_a_large_award_waits_for_a_second_staff_member(client: FlaskClient, world: World) -> None:
    person = world.ids["person_A"]
    before = balances(client, world, person)["jifen"]
    asked = adjust(client, world, "staff", 500).get_json()
    assert asked["status"] == "pending_confirmation"
    assert balances(client, world, person)["jifen"] == before
    listed = world.call(client, "admin", "GET", "/adjustments").get_json()["items"]
    assert asked["id"] in {a["id"] for a in listed}

    own = world.call(client, "staff", "POST", f"/adjustments/{asked['id']}/confirm")
    assert own.status_code == 403
    confirmed = world.call(client, "admin", "POST", f"/adjustments/{asked['id']}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.get_json()["status"] == "posted"
    assert balances(client, world, person)["jifen"] == before + 500
    twice = world.call(client, "root", "POST", f"/adjustments/{asked['id']}/confirm")
    assert twice.status_code == 409
    assert twice.get_json()["code"] == "not_pending"
    assert balances(client, world, person)["jifen"] == before + 500


def test_a_rejected_adjustment_moves_nothing(client: FlaskClient, world: World) -> None:
    person = world.ids["person_A"]
    before = balances(client, world, person)
    asked = adjust(client, world, "staff", 300).get_json()
    rejected = world.call(
        client, "admin", "POST", f"/adjustments/{asked['id']}/reject", {"reason": "材料不全"}
    )
    assert rejected.get_json()["status"] == "rejected"
    assert balances(client, world, person) == before


def test_nobody_adjusts_their_own_points(app: Flask, client: FlaskClient, world: World) -> None:
    staff_id = world.call(client, "staff", "GET", "/me").get_json()["id"]
    response = world.call(
        client,
        "staff",
        "POST",
        f"/users/{staff_id}/adjustments",
        {"kind": "award", "currency": "jifen", "amount": 5, "reason": "自己奖励"},
    )
    assert response.status_code == 403
    assert response.get_json()["code"] == "self_adjustment"


def test_deducting_more_than_the_balance_is_409_and_records_nothing(
    app: Flask, client: FlaskClient, world: World
) -> None:
    person = world.ids["person_A"]
    before = balances(client, world, person)
    response = adjust(client, world, "staff", 90, kind="deduct")
    assert response.status_code == 409
    assert response.get_json()["code"] == "insufficient_balance"
    assert balances(client, world, person) == before
    with app.app_context():
        assert (
            not extensions.session()
            .scalars(select(Adjustment).where(Adjustment.amount == 90))
            .all()
        )


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "gift", "currency": "jifen", "amount": 5, "reason": "理由"},
        {"kind": "award", "currency": "rmb", "amount": 5, "reason": "理由"},
        {"kind": "award", "currency": "jifen", "amount": 0, "reason": "理由"},
        {"kind": "award", "currency": "jifen", "amount": 5, "reason": ""},
        {"kind": "award", "currency": "jifen", "amount": 5},
    ],
)
def test_bad_adjustments_are_422(client: FlaskClient, world: World, body: dict[str, Any]) -> None:
    person = world.ids["person_A"]
    before = balances(client, world, person)
    response = world.call(client, "staff", "POST", f"/users/{person}/adjustments", body)
    assert response.status_code == 422
    assert balances(client, world, person) == before


def test_reversals_undo_once_and_never_overdraw(
    app: Flask, client: FlaskClient, world: World
) -> None:
    person = world.ids["person_A"]
    with app.app_context():
        session = extensions.session()
        spendable = credit(session, person, "xingfubi", 30).id
    reversed_once = world.call(
        client,
        "staff",
        "POST",
        f"/transfers/{world.ids['earning_A']}/reverse",
        {"reason": "审核有误"},
    )
    assert reversed_once.status_code == 200
    assert reversed_once.get_json()["reversal"]["kind"] == "reverse"
    again = world.call(
        client,
        "admin",
        "POST",
        f"/transfers/{world.ids['earning_A']}/reverse",
        {"reason": "again"},
    )
    assert again.status_code == 409
    assert again.get_json()["code"] == "already_reversed"

    with app.app_context():
        session = extensions.session()
        post(session, spend_request(session, person, 25, "spent-it"))
        session.commit()
    spent = world.call(
        client, "staff", "POST", f"/transfers/{spendable}/reverse", {"reason": "审核有误"}
    )
    assert spent.status_code == 409
    assert spent.get_json()["code"] == "insufficient_balance"
    assert balances(client, world, person)["xingfubi"] == 5


def test_the_pending_list_shows_only_people_in_the_callers_scope(
    client: FlaskClient, world: World
) -> None:
    def pending(role: str) -> set[int]:
        return {
            a["id"] for a in world.call(client, role, "GET", "/adjustments").get_json()["items"]
        }

    both = {world.ids["adjustment_A"], world.ids["adjustment_B"]}
    assert pending("root") == both
    assert pending("staff") == {world.ids["adjustment_A"]}
    assert pending("member") == set()
