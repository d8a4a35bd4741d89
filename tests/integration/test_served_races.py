"""The races an event brings, on the quick start's own server: `lianxin serve` with
several gunicorn workers, on whichever backend the suite runs (the embedded default
serves a real community too). Every race ends in the one exact result, losers get
409 or a replay, and no request anywhere gets a 500."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select

from api import extensions
from service.ledger.models import Transfer
from service.ledger.verify import verify
from service.people.models import User
from service.stations.models import Redemption
from tests.all_at_once import all_at_once
from tests.api.community_helpers import publish_starter_rules
from tests.api.world import build_world
from tests.integration.serving import Server
from tests.integration.test_redemption_concurrency import members, shop, stock_of

WORKERS = 4

Request = tuple[str, str, dict[str, Any] | None, dict[str, str]]  # method, path, body, headers


@pytest.fixture
def server(serve: Callable[..., Server]) -> Server:
    return serve(WORKERS)


def race(server: Server, requests: list[Request]) -> list[tuple[int, bytes]]:
    """Send every request from its own thread and connection, all released at once."""

    def send(index: int, go: Callable[[], None]) -> tuple[int, bytes]:
        method, path, body, headers = requests[index]
        with httpx.Client(base_url=server.url, timeout=60) as client:
            go()
            response = client.request(method, path, json=body, headers=headers)
            return response.status_code, response.content

    return all_at_once(len(requests), send)


def codes(results: list[tuple[int, bytes]]) -> list[str]:
    return [json.loads(body).get("code", "") if status >= 400 else "" for status, body in results]


def assert_no_server_errors(server: Server) -> None:
    """Nothing in the server's own log was a 500 or an unhandled error."""
    lines = server.stop()
    answered = [line for line in lines if line.get("logger") == "lianxin.request"]
    assert answered, "the server logged no request; the test proves nothing"
    assert not [line for line in answered if int(str(line["status"])) >= 500]
    assert not [line for line in lines if line.get("level") in ("ERROR", "CRITICAL")]
    assert "Traceback" not in server.log_path.read_text()


def assert_ledger_clean(app: Flask) -> None:
    with app.app_context():
        report = verify(extensions.session())
        assert report.clean, report.problems


def test_one_approval_sent_twenty_times_credits_once(app: Flask, server: Server) -> None:
    world = build_world(app)
    publish_starter_rules(app, world)
    participation = world.ids["participation_A"]
    headers = {"Authorization": f"Bearer {world.tokens['staff']}"}
    path = f"/api/v1/participations/{participation}/approve"
    results = race(server, [("POST", path, None, headers)] * 20)
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 1, results
    assert statuses.count(409) == 19
    # Already approved, or (PostgreSQL) lost the conditional UPDATE to the winner.
    assert set(codes(results)) - {""} <= {"invalid_transition", "participation_changed"}
    with app.app_context():
        credited = extensions.session().scalar(
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.source == f"participation:{participation}")
        )
    assert credited
    one_approval = json.loads(next(body for status, body in results if status == 200))
    assert credited == len(one_approval["transfers"])
    assert_no_server_errors(server)
    assert_ledger_clean(app)


def test_one_idempotency_key_twenty_times_is_one_redemption(app: Flask, server: Server) -> None:
    grid, item = shop(app, price=5, stock=50)
    ((user_id, token),) = members(app, grid, 1, 100)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "tap-tap-tap"}
    results = race(server, [("POST", "/api/v1/redemptions", {"item_id": item}, headers)] * 20)
    created = [body for status, body in results if status == 201]
    assert created, results
    # The rest replay the first answer byte for byte, or are told it is still in flight.
    assert {status for status, _ in results} <= {201, 409}
    assert len(set(created)) == 1
    assert set(codes(results)) <= {"", "idempotency_request_in_flight"}
    assert stock_of(app, item) == 49
    with app.app_context():
        count = extensions.session().scalar(
            select(func.count()).select_from(Redemption).where(Redemption.user_id == user_id)
        )
    assert count == 1
    assert_no_server_errors(server)
    assert_ledger_clean(app)


def test_thirty_members_for_three_in_stock(app: Flask, server: Server) -> None:
    grid, item = shop(app, price=5, stock=3)
    people = members(app, grid, 30, 20)
    results = race(
        server,
        [
            ("POST", "/api/v1/redemptions", {"item_id": item}, {"Authorization": f"Bearer {t}"})
            for _, t in people
        ],
    )
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 3, results
    assert statuses.count(409) == 27
    assert set(codes(results)) == {"", "out_of_stock"}
    assert stock_of(app, item) == 0
    assert_no_server_errors(server)
    assert_ledger_clean(app)


def test_twenty_first_sign_ins_at_once_all_get_in(app: Flask, server: Server) -> None:
    world = build_world(app)
    results = race(
        server,
        [("POST", "/api/v1/auth/wechat", {"code": f"first-{n}"}, {}) for n in range(20)],
    )
    assert [status for status, _ in results] == [200] * 20, results
    tokens = [json.loads(body)["access_token"] for _, body in results]
    with app.app_context():
        users = extensions.session().scalar(
            select(func.count()).select_from(User).where(User.openid.like("first-%"))
        )
    assert users == 20
    # And, as they would next, all choose where they live at the same moment.
    chosen = race(
        server,
        [
            (
                "PATCH",
                "/api/v1/me",
                {"residence_place_id": world.ids["grid_A"]},
                {"Authorization": f"Bearer {token}"},
            )
            for token in tokens
        ],
    )
    assert [status for status, _ in chosen] == [200] * 20, chosen
    with app.app_context():
        living = extensions.session().scalar(
            select(func.count())
            .select_from(User)
            .where(User.openid.like("first-%"), User.residence_place_id == world.ids["grid_A"])
        )
    assert living == 20
    assert_no_server_errors(server)
