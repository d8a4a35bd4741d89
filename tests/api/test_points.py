"""A member's balances and transfers through HTTP."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api import extensions
from service.ledger.posting import post
from service.ledger.reversals import reverse
from service.people.models import User
from tests.conftest import signed_in_headers
from tests.ledger_helpers import credit, spend_request


def accounts(client: FlaskClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/me/accounts", headers=headers)
    assert response.status_code == 200
    return {item["currency"]: item for item in response.get_json()["items"]}


def user_id(app: Flask, openid: str) -> int:
    with app.app_context():
        return extensions.session().scalars(select(User.id).where(User.openid == openid)).one()


def test_a_new_member_has_both_currencies_at_zero(client: FlaskClient) -> None:
    headers = signed_in_headers(client, "o-new")
    assert accounts(client, headers) == {
        "jifen": {
            "currency": "jifen",
            "name": "积分",
            "balance": 0,
            "available": 0,
            "earned_total": 0,
        },
        "xingfubi": {
            "currency": "xingfubi",
            "name": "幸福币",
            "balance": 0,
            "available": 0,
            "earned_total": 0,
        },
    }


def test_balance_available_and_earned(app: Flask, client: FlaskClient) -> None:
    headers = signed_in_headers(client, "o-li")
    member = user_id(app, "o-li")
    with app.app_context():
        session = extensions.session()
        credit(session, member, "xingfubi", 50)
        second = credit(session, member, "xingfubi", 30)
        credit(session, member, "jifen", 20)
        post(session, spend_request(session, member, 15, "spend-1"))
        post(session, spend_request(session, member, 10, "hold-1", pending=True))
        reverse(session, second.id, actor_id=None, reason="approved by mistake")
        session.commit()
    mine = accounts(client, headers)
    assert mine["xingfubi"]["balance"] == 50 + 30 - 15 - 30
    assert mine["xingfubi"]["available"] == 50 + 30 - 15 - 30 - 10
    # Spending doesn't lower what was earned; a reversal does.
    assert mine["xingfubi"]["earned_total"] == 50
    assert mine["jifen"] == {
        "currency": "jifen",
        "name": "积分",
        "balance": 20,
        "available": 20,
        "earned_total": 20,
    }


def test_transfers_newest_first_with_direction_and_pages(app: Flask, client: FlaskClient) -> None:
    headers = signed_in_headers(client, "o-wang")
    member = user_id(app, "o-wang")
    with app.app_context():
        session = extensions.session()
        for amount in (5, 6, 7):
            credit(session, member, "xingfubi", amount)
        credit(session, member, "jifen", 9)
        post(session, spend_request(session, member, 4, "spend-x"))
        session.commit()
    first = client.get("/api/v1/me/transfers?limit=2&currency=xingfubi", headers=headers)
    body = first.get_json()
    assert [(t["kind"], t["amount"], t["direction"]) for t in body["items"]] == [
        ("deduct", 4, "out"),
        ("earn", 7, "in"),
    ]
    assert body["items"][1]["explanation"] == "test credit of 7"
    rest = client.get(
        f"/api/v1/me/transfers?limit=10&currency=xingfubi&cursor={body['next_cursor']}",
        headers=headers,
    ).get_json()
    assert [t["amount"] for t in rest["items"]] == [6, 5]
    assert rest["next_cursor"] is None
    everything = client.get("/api/v1/me/transfers", headers=headers).get_json()["items"]
    assert len(everything) == 5


def test_someone_elses_transfers_are_not_shown(app: Flask, client: FlaskClient) -> None:
    mine = signed_in_headers(client, "o-me")
    signed_in_headers(client, "o-other")
    with app.app_context():
        credit(extensions.session(), user_id(app, "o-other"), "jifen", 10)
    assert client.get("/api/v1/me/transfers", headers=mine).get_json()["items"] == []


def test_an_unknown_currency_is_422(client: FlaskClient) -> None:
    headers = signed_in_headers(client, "o-x")
    response = client.get("/api/v1/me/transfers?currency=dollars", headers=headers)
    assert response.status_code == 422
    assert "currency" in response.get_json()["errors"]
