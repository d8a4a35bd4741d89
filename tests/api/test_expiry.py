"""Spendable points expire by lots, oldest first; members see what expires when."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api import extensions
from api.cli import cli
from service.db import utcnow
from service.ledger.holds import resolve_hold
from service.ledger.models import LedgerAccount
from service.ledger.posting import post
from service.ledger.verify import verify
from service.people.models import User
from tests.conftest import signed_in_headers
from tests.ledger_helpers import credit, spend_request

LATER = (utcnow() + timedelta(days=400)).strftime("%Y-%m-%d")


def member(app: Flask, client: FlaskClient, openid: str) -> tuple[int, dict[str, str]]:
    headers = signed_in_headers(client, openid)
    with app.app_context():
        user_id = extensions.session().scalars(select(User.id).where(User.openid == openid)).one()
    return user_id, headers


def available(app: Flask, user_id: int) -> int:
    with app.app_context():
        account = (
            extensions.session()
            .scalars(
                select(LedgerAccount).where(
                    LedgerAccount.user_id == user_id, LedgerAccount.currency == "xingfubi"
                )
            )
            .one()
        )
        return account.credits_posted - account.debits_posted - account.debits_pending


def test_spending_takes_the_oldest_points_and_the_rest_expire_once(
    app: Flask, client: FlaskClient
) -> None:
    user_id, headers = member(app, client, "o-zhao")
    with app.app_context():
        session = extensions.session()
        credit(session, user_id, "xingfubi", 30)
        credit(session, user_id, "xingfubi", 10)
        credit(session, user_id, "jifen", 50)  # honour points never expire
        post(session, spend_request(session, user_id, 35, "spend"))
        session.commit()
    expiring = client.get("/api/v1/me/expiring", headers=headers).get_json()["items"]
    assert [(e["currency"], e["amount"]) for e in expiring] == [("xingfubi", 5)]

    runner = app.test_cli_runner()
    first = runner.invoke(cli, ["points", "expire", "--now", LATER])
    assert first.exit_code == 0, first.output
    assert "expired 1 lot(s): 5 xingfubi" in first.output
    again = runner.invoke(cli, ["points", "expire", "--now", LATER])
    assert "expired 0 lot(s)" in again.output
    assert available(app, user_id) == 0
    assert client.get("/api/v1/me/expiring", headers=headers).get_json()["items"] == []
    transfers = client.get("/api/v1/me/transfers", headers=headers).get_json()["items"]
    assert transfers[0]["kind"] == "expire"
    assert "unspent since" in transfers[0]["explanation"]
    with app.app_context():
        assert verify(extensions.session()).clean


def test_points_on_hold_do_not_expire_and_come_back_to_expire_later(
    app: Flask, client: FlaskClient
) -> None:
    user_id, _ = member(app, client, "o-li")
    with app.app_context():
        session = extensions.session()
        credit(session, user_id, "xingfubi", 40)
        hold = post(session, spend_request(session, user_id, 25, "hold", pending=True))
        session.commit()
        hold_id = hold.id
    runner = app.test_cli_runner()
    assert "15 xingfubi" in runner.invoke(cli, ["points", "expire", "--now", LATER]).output
    with app.app_context():
        session = extensions.session()
        resolve_hold(session, hold_id, hand_over=False, actor_id=None, key="void-hold")
        session.commit()
    assert available(app, user_id) == 25  # the cancelled hold gives its points back
    assert "25 xingfubi" in runner.invoke(cli, ["points", "expire", "--now", LATER]).output
    assert available(app, user_id) == 0
    with app.app_context():
        assert verify(extensions.session()).clean


def test_a_bad_expiry_date_is_a_usage_error(app: Flask) -> None:
    result = app.test_cli_runner().invoke(cli, ["points", "expire", "--now", "yesterday"])
    assert result.exit_code == 2
    assert "Invalid value for '--now'" in result.output
