"""Real concurrency on both backends, through the HTTP API: many requests racing for one
item's stock, one member's balance, or one Idempotency-Key."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from api import extensions
from points.access import Role, ScopeType
from points.places import PlaceLevel
from service.auth.tokens import issue_access_token
from service.db import utcnow
from service.ledger.accounts import member_account
from service.ledger.verify import verify
from service.organisation.models import Station
from service.people.directory import ensure_grant
from service.people.models import User
from service.places.tree import add_place
from service.proxies.models import ProxyAct, ProxyLink
from service.stations.models import CatalogueItem, Redemption
from service.stations.release import expire_due
from service.unit_of_work import UnitOfWork
from tests.all_at_once import all_at_once
from tests.conftest import AppFactory
from tests.ledger_helpers import credit


@pytest.fixture
def racing_app(make_app: AppFactory) -> Flask:
    return make_app(db_pool_size=30, max_open_redemptions=100)


def shop(app: Flask, *, price: int, stock: int) -> tuple[int, int]:
    """A grid, and a station in it with one item; returns (grid id, item id)."""
    with app.app_context():
        session = extensions.session()
        street = add_place(session, None, "街道", PlaceLevel.STREET)
        grid = add_place(session, street, "网格", PlaceLevel.GRID)
        station = Station(place_id=street.id, name="小蜜蜂驿站", lat=39.9, lng=116.4)
        session.add(station)
        session.flush()
        item = CatalogueItem(
            station_id=station.id, name="洗衣液", price=price, currency="xingfubi", stock=stock
        )
        session.add(item)
        session.commit()
        return grid.id, item.id


def members(app: Flask, grid_id: int, count: int, coins: int) -> list[tuple[int, str]]:
    """``count`` residents with ``coins`` 幸福币 each, as (user id, access token)."""
    with app.app_context():
        session = extensions.session()
        users = []
        for number in range(count):
            user = User(name=f"居民{number}", residence_place_id=grid_id)
            session.add(user)
            session.flush()
            ensure_grant(session, user, Role.RESIDENT, ScopeType.PLACE, grid_id)
            users.append(user)
        session.commit()
        secret = extensions.settings().secret_key
        result = []
        for user in users:
            credit(session, user.id, "xingfubi", coins)
            token = issue_access_token(
                secret, user_id=user.id, token_version=0, family=f"f{user.id}", now=utcnow()
            )
            result.append((user.id, token))
        return result


def race(app: Flask, requests: list[tuple[str, dict[str, Any], dict[str, str]]]) -> list[Any]:
    """POST every (path, body, headers) in its own thread, all released at once;
    returns (status, body bytes) per request."""

    def worker(index: int, go: Callable[[], None]) -> tuple[int, bytes]:
        path, body, headers = requests[index]
        client = app.test_client()
        go()
        response = client.post(path, json=body, headers=headers)
        return response.status_code, response.get_data()

    return all_at_once(len(requests), worker)


def codes(results: list[Any]) -> list[str]:
    return [json.loads(body).get("code", "") if status != 201 else "" for status, body in results]


def stock_of(app: Flask, item_id: int) -> int:
    with app.app_context():
        return int(
            extensions.session().scalar(
                select(CatalogueItem.stock).where(CatalogueItem.id == item_id)
            )
            or 0
        )


def assert_verify_clean(app: Flask) -> None:
    with app.app_context():
        report = verify(extensions.session())
        assert report.clean, report.problems


def test_two_hundred_members_race_for_ten_items(racing_app: Flask) -> None:
    grid, item = shop(racing_app, price=5, stock=10)
    people = members(racing_app, grid, 200, 20)
    results = race(
        racing_app,
        [
            ("/api/v1/redemptions", {"item_id": item}, {"Authorization": f"Bearer {token}"})
            for _, token in people
        ],
    )
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 10, sorted(set(codes(results)))
    assert statuses.count(409) == 190
    assert set(codes(results)) == {"", "out_of_stock"}
    assert stock_of(racing_app, item) == 0
    with racing_app.app_context():
        session = extensions.session()
        held = session.scalar(
            select(func.count()).select_from(Redemption).where(Redemption.status == "held")
        )
        assert held == 10
        pickup_codes = session.scalars(select(Redemption.pickup_code)).all()
        assert len(set(pickup_codes)) == 10
    assert_verify_clean(racing_app)


def test_one_member_fifty_requests_for_what_three_can_pay(racing_app: Flask) -> None:
    grid, item = shop(racing_app, price=30, stock=100)
    ((user_id, token),) = members(racing_app, grid, 1, 100)
    results = race(
        racing_app,
        [("/api/v1/redemptions", {"item_id": item}, {"Authorization": f"Bearer {token}"})] * 50,
    )
    succeeded = sum(status == 201 for status, _ in results)
    assert succeeded <= 3
    assert succeeded >= 1
    assert set(codes(results)) <= {"", "insufficient_balance"}
    assert stock_of(racing_app, item) == 100 - succeeded
    with racing_app.app_context():
        account = member_account(extensions.session(), user_id, "xingfubi")
        assert account.credits_posted - account.debits_posted - account.debits_pending >= 0
        assert account.debits_pending == 30 * succeeded
    assert_verify_clean(racing_app)


def test_one_idempotency_key_twenty_times_at_once_is_one_redemption(racing_app: Flask) -> None:
    grid, item = shop(racing_app, price=5, stock=50)
    ((user_id, token),) = members(racing_app, grid, 1, 100)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "tap-tap-tap"}
    results = race(racing_app, [("/api/v1/redemptions", {"item_id": item}, headers)] * 20)
    assert {status for status, _ in results} == {201}
    assert len({body for _, body in results}) == 1  # identical, byte for byte
    assert stock_of(racing_app, item) == 49
    with racing_app.app_context():
        count = extensions.session().scalar(
            select(func.count()).select_from(Redemption).where(Redemption.user_id == user_id)
        )
        assert count == 1
    other = race(racing_app, [("/api/v1/redemptions", {"item_id": item, "quantity": 2}, headers)])
    assert other[0][0] == 422
    assert codes(other) == ["idempotency_key_reused"]
    assert_verify_clean(racing_app)


def test_a_per_member_limit_holds_under_concurrent_requests(racing_app: Flask) -> None:
    grid, item = shop(racing_app, price=5, stock=100)
    with racing_app.app_context():
        session = extensions.session()
        row = session.get(CatalogueItem, item)
        assert row is not None
        row.per_member_limit = 2
        session.commit()
    ((_, token),) = members(racing_app, grid, 1, 500)
    results = race(
        racing_app,
        [("/api/v1/redemptions", {"item_id": item}, {"Authorization": f"Bearer {token}"})] * 20,
    )
    assert sum(status == 201 for status, _ in results) == 2
    assert set(codes(results)) == {"", "limit_reached"}
    assert stock_of(racing_app, item) == 98
    assert_verify_clean(racing_app)


def test_open_holds_stay_capped_under_concurrent_requests(make_app: AppFactory) -> None:
    app = make_app(db_pool_size=30, max_open_redemptions=5)
    grid, item = shop(app, price=1, stock=100)
    ((_, token),) = members(app, grid, 1, 500)
    results = race(
        app,
        [("/api/v1/redemptions", {"item_id": item}, {"Authorization": f"Bearer {token}"})] * 20,
    )
    assert sum(status == 201 for status, _ in results) == 5
    assert set(codes(results)) == {"", "too_many_open_holds"}
    assert_verify_clean(app)


def test_expiry_pickups_and_new_holds_at_once_keep_the_ledger_whole(racing_app: Flask) -> None:
    """The expiry job, clerks and members at the same moment: no deadlock, every
    redemption ends in one state, stock and points add up."""
    grid, item = shop(racing_app, price=5, stock=100)
    people = members(racing_app, grid, 30, 50)
    first = race(
        racing_app,
        [
            ("/api/v1/redemptions", {"item_id": item}, {"Authorization": f"Bearer {token}"})
            for _, token in people
        ],
    )
    assert all(status == 201 for status, _ in first)
    errors: list[BaseException] = []

    def expire() -> None:
        with racing_app.app_context():
            try:
                expire_due(UnitOfWork(extensions.session()), utcnow() + timedelta(days=4))
            except BaseException as error:
                errors.append(error)

    job = threading.Thread(target=expire)
    job.start()
    again = race(
        racing_app,
        [
            ("/api/v1/redemptions", {"item_id": item}, {"Authorization": f"Bearer {token}"})
            for _, token in people
        ],
    )
    job.join(timeout=120)
    assert not errors
    assert {status for status, _ in again} <= {201}
    with racing_app.app_context():
        session = extensions.session()
        statuses = dict(
            session.execute(
                select(Redemption.status, func.count()).group_by(Redemption.status)
            ).all()
        )
        assert statuses.get("expired", 0) + statuses.get("held", 0) == 60
        assert stock_of(racing_app, item) == 100 - statuses.get("held", 0)
    assert_verify_clean(racing_app)


def test_two_proxies_redeeming_for_one_elder_at_once_never_overdraw_her(
    racing_app: Flask,
) -> None:
    """代办: her daughter and her party member, twenty-five taps each, for what her 100
    幸福币 pay three times: three holds, the rest 409, her balance never below zero."""
    grid, item = shop(racing_app, price=30, stock=100)
    ((elder, _), *proxies) = members(racing_app, grid, 3, 100)
    with racing_app.app_context():
        session = extensions.session()
        for proxy_id, _ in proxies:
            session.add(
                ProxyLink(
                    subject_id=elder,
                    proxy_id=proxy_id,
                    consent_method="signed_form",
                    consent_given_at=utcnow(),
                    recorded_by_id=proxy_id,
                    recorded_at=utcnow(),
                    starts_at=utcnow() - timedelta(minutes=1),
                )
            )
        session.commit()
    body = {"item_id": item, "for_user_id": elder}
    results = race(
        racing_app,
        [
            ("/api/v1/redemptions", body, {"Authorization": f"Bearer {token}"})
            for _, token in proxies
        ]
        * 25,
    )
    assert sum(status == 201 for status, _ in results) == 3, sorted(set(codes(results)))
    assert set(codes(results)) == {"", "insufficient_balance"}
    assert stock_of(racing_app, item) == 97
    with racing_app.app_context():
        session = extensions.session()
        account = member_account(session, elder, "xingfubi")
        assert account.credits_posted - account.debits_posted - account.debits_pending == 10
        made = session.execute(select(Redemption.user_id, Redemption.acted_by_id)).all()
        assert {user for user, _ in made} == {elder}
        assert {proxy for _, proxy in made} <= {proxy_id for proxy_id, _ in proxies}
        assert session.scalar(select(func.count()).select_from(ProxyAct)) == 3
        for proxy_id, _ in proxies:  # their own points untouched
            own = member_account(session, proxy_id, "xingfubi")
            assert (own.debits_pending, own.debits_posted) == (0, 0)
    assert_verify_clean(racing_app)
