"""Stations, catalogue, redemption and pickup over HTTP, as the mini-program uses them."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import event, func, select

from api import extensions
from api.cli import cli
from service.db import utcnow
from service.demo.world import seed_demo_world
from service.idempotency.models import IdempotencyRecord
from service.ledger.verify import verify
from service.stations.models import Redemption
from tests.api.world import World
from tests.conftest import signed_in_headers
from tests.ledger_helpers import credit


def user_id(world: World, role: str) -> int:
    return int(jwt.decode(world.tokens[role], options={"verify_signature": False})["sub"])


@pytest.fixture
def rich_member(app: Flask, world: World) -> World:
    """The world, with 100 幸福币 for the member."""
    with app.app_context():
        credit(extensions.session(), user_id(world, "member"), "xingfubi", 100)
    return world


def redeem(client: FlaskClient, world: World, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {world.tokens['member']}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/redemptions", json=body, headers=headers)


def assert_ledger_clean(app: Flask) -> None:
    with app.app_context():
        session = extensions.session()
        session.commit()
        report = verify(session)
        assert report.clean, report.problems


def test_stations_nearest_first_with_their_items(client: FlaskClient, world: World) -> None:
    near_b = world.call(client, "member", "GET", "/stations?near=39.9288,116.4172").get_json()
    assert [s["id"] for s in near_b["items"]] == [world.ids["station_B"], world.ids["station_A"]]
    assert near_b["items"][0]["distance_m"] < 1
    assert near_b["items"][1]["distance_m"] == pytest.approx(1820, rel=0.05)
    station_a = next(s for s in near_b["items"] if s["id"] == world.ids["station_A"])
    assert station_a["clerk_ids"] == [user_id(world, "clerk")]
    assert station_a["org_id"] == world.ids["community_A"]
    items = world.call(client, "member", "GET", f"/stations/{world.ids['station_A']}/items")
    (item,) = items.get_json()["items"]
    assert {
        k: item[k] for k in ("id", "name", "price", "currency", "stock", "per_member_limit")
    } == {
        "id": world.ids["item_A"],
        "name": "洗衣液",
        "price": 5,
        "currency": "xingfubi",
        "stock": 9,  # one is held for the world's shopper
        "per_member_limit": None,
    }
    bad = world.call(client, "member", "GET", "/stations?near=north")
    assert bad.status_code == 422
    assert "near" in bad.get_json()["errors"]


def test_redeem_pick_up_and_see_it_in_my_list(
    app: Flask, client: FlaskClient, rich_member: World
) -> None:
    world = rich_member
    response = redeem(client, world, {"item_id": world.ids["item_A"], "quantity": 2})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "held"
    assert len(body["pickup_code"]) == 6
    assert body["amount"] == 10
    assert body["qr_payload"].startswith(f"lxr.{body['id']}.{world.ids['station_A']}.")
    accounts = world.call(client, "member", "GET", "/me/accounts").get_json()["items"]
    xingfubi = next(a for a in accounts if a["currency"] == "xingfubi")
    assert (xingfubi["balance"], xingfubi["available"]) == (100, 90)

    wrong_station = world.call(
        client,
        "clerk",
        "POST",
        f"/stations/{world.ids['station_B']}/pickups",
        {"pickup_code": body["pickup_code"]},
    )
    assert wrong_station.status_code == 404
    picked = world.call(
        client,
        "clerk",
        "POST",
        f"/stations/{world.ids['station_A']}/pickups",
        {"pickup_code": body["pickup_code"]},
    )
    assert picked.status_code == 200, picked.get_json()
    assert picked.get_json()["status"] == "fulfilled"
    assert picked.get_json()["redemption"]["id"] == body["id"]
    assert picked.get_json()["member_name"] == "member"  # whom the clerk hands it to
    again = world.call(
        client,
        "clerk",
        "POST",
        f"/stations/{world.ids['station_A']}/pickups",
        {"pickup_code": body["pickup_code"]},
    )
    assert again.status_code == 409
    assert again.get_json()["code"] == "pickup_code_used"
    mine = world.call(client, "member", "GET", "/me/redemptions").get_json()["items"]
    assert [(r["id"], r["status"]) for r in mine] == [(body["id"], "fulfilled")]
    accounts = world.call(client, "member", "GET", "/me/accounts").get_json()["items"]
    xingfubi = next(a for a in accounts if a["currency"] == "xingfubi")
    assert (xingfubi["balance"], xingfubi["available"]) == (90, 90)
    assert_ledger_clean(app)


def test_a_scanned_qr_picks_up_and_a_garbled_one_finds_nothing(
    client: FlaskClient, rich_member: World
) -> None:
    world = rich_member
    body = redeem(client, world, {"item_id": world.ids["item_A"]}).get_json()
    station = f"/stations/{world.ids['station_A']}/pickups"
    garbled = world.call(client, "clerk", "POST", station, {"qr_payload": body["qr_payload"] + "0"})
    assert garbled.status_code == 404
    neither = world.call(client, "clerk", "POST", station, {})
    assert neither.status_code == 422
    picked = world.call(client, "clerk", "POST", station, {"qr_payload": body["qr_payload"]})
    assert picked.status_code == 200, picked.get_json()


def test_cancel_brings_points_and_stock_back(
    app: Flask, client: FlaskClient, rich_member: World
) -> None:
    world = rich_member
    body = redeem(client, world, {"item_id": world.ids["item_A"], "quantity": 3}).get_json()
    other = world.call(client, "volunteer", "POST", f"/redemptions/{body['id']}/cancel")
    assert other.status_code == 404
    cancelled = world.call(client, "member", "POST", f"/redemptions/{body['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    item = world.call(client, "member", "GET", f"/stations/{world.ids['station_A']}/items")
    assert item.get_json()["items"][0]["stock"] == 9
    twice = world.call(client, "member", "POST", f"/redemptions/{body['id']}/cancel")
    assert twice.status_code == 409
    assert_ledger_clean(app)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"item_id": 999_999}, 404, "not_found"),
        ({"item_id": "x"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
        ({"quantity": 0, "item_id": 1}, 422, "validation_error"),
        ({"quantity": 100, "item_id": 1}, 422, "validation_error"),
        ({"quantity": 10, "item_id": "A"}, 409, "out_of_stock"),
    ],
)
def test_refusals_are_clear(
    client: FlaskClient, rich_member: World, body: dict[str, Any], status: int, code: str
) -> None:
    if body.get("item_id") == "A":
        body = {**body, "item_id": rich_member.ids["item_A"]}
    response = redeem(client, rich_member, body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["code"] == code


def test_the_same_idempotency_key_replays_the_first_response(
    app: Flask, client: FlaskClient, rich_member: World
) -> None:
    world = rich_member
    body = {"item_id": world.ids["item_A"], "quantity": 1}
    first = redeem(client, world, body, key="order-1")
    assert first.status_code == 201
    replay = redeem(client, world, dict(reversed(list(body.items()))), key="order-1")
    assert replay.status_code == 201
    assert replay.get_data() == first.get_data()
    other = redeem(client, world, {**body, "quantity": 2}, key="order-1")
    assert other.status_code == 422
    assert other.get_json()["code"] == "idempotency_key_reused"
    fresh = redeem(client, world, body, key="order-2")
    assert fresh.status_code == 201
    assert fresh.get_json()["id"] != first.get_json()["id"]
    with app.app_context():
        session = extensions.session()
        mine = (
            select(func.count())
            .select_from(Redemption)
            .where(Redemption.user_id == user_id(world, "member"))
        )
        assert session.scalar(mine) == 2
    # Another caller's same key is their own.
    with app.app_context():
        credit(extensions.session(), user_id(world, "volunteer"), "xingfubi", 10)
    theirs = client.post(
        "/api/v1/redemptions",
        json=body,
        headers={
            "Authorization": f"Bearer {world.tokens['volunteer']}",
            "Idempotency-Key": "order-1",
        },
    )
    assert theirs.status_code == 201
    assert theirs.get_json()["id"] != first.get_json()["id"]


def test_a_refused_request_keeps_no_key_so_a_retry_can_succeed(
    app: Flask, client: FlaskClient, world: World
) -> None:
    body = {"item_id": world.ids["item_A"]}
    broke = redeem(client, world, body, key="retry-me")
    assert broke.get_json()["code"] == "insufficient_balance"
    with app.app_context():
        assert extensions.session().scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
        credit(extensions.session(), user_id(world, "member"), "xingfubi", 5)
    assert redeem(client, world, body, key="retry-me").status_code == 201


def test_a_bad_idempotency_key_is_422(client: FlaskClient, rich_member: World) -> None:
    response = redeem(client, rich_member, {"item_id": rich_member.ids["item_A"]}, key="x" * 201)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["errors"]


def test_staff_manage_items_and_stock_with_a_log(client: FlaskClient, world: World) -> None:
    station = world.ids["station_A"]
    created = world.call(
        client,
        "staff",
        "POST",
        f"/stations/{station}/items",
        {
            "name": "大米 5kg",
            "price": 40,
            "currency": "xingfubi",
            "stock": 3,
            "per_member_limit": 2,
            "limit_period": "month",
            "audience": "members",
            "image_url": "https://example.org/rice.jpg",
        },
    )
    assert created.status_code == 201, created.get_json()
    item = created.get_json()
    assert (item["per_member_limit"], item["audience"], item["stock"]) == (2, "members", 3)
    honour = world.call(
        client,
        "staff",
        "POST",
        f"/stations/{station}/items",
        {"name": "奖状", "price": 1, "currency": "jifen"},
    )
    assert honour.status_code == 422
    stock_by_patch = world.call(client, "staff", "PATCH", f"/items/{item['id']}", {"stock": 99})
    assert stock_by_patch.status_code == 422
    unlimited = world.call(
        client, "staff", "PATCH", f"/items/{item['id']}", {"per_member_limit": None, "price": 45}
    )
    assert (unlimited.get_json()["per_member_limit"], unlimited.get_json()["price"]) == (None, 45)
    assert unlimited.get_json()["image_url"] == "https://example.org/rice.jpg"
    hidden = world.call(client, "staff", "PATCH", f"/items/{item['id']}", {"active": False})
    assert hidden.get_json()["active"] is False
    seen_by_member = world.call(client, "member", "GET", f"/stations/{station}/items").get_json()
    assert item["id"] not in [i["id"] for i in seen_by_member["items"]]
    seen_by_staff = world.call(client, "staff", "GET", f"/stations/{station}/items").get_json()
    assert item["id"] in [i["id"] for i in seen_by_staff["items"]]

    delivered = world.call(
        client, "clerk", "POST", f"/items/{item['id']}/stock", {"delta": 10, "reason": "到货"}
    )
    assert delivered.status_code == 201
    assert delivered.get_json()["stock_after"] == 13
    too_many = world.call(
        client, "clerk", "POST", f"/items/{item['id']}/stock", {"delta": -14, "reason": "报损"}
    )
    assert too_many.status_code == 409
    assert too_many.get_json()["code"] == "not_enough_stock"
    log = world.call(client, "clerk", "GET", f"/items/{item['id']}/stock").get_json()["items"]
    assert [(m["delta"], m["reason"], m["actor_id"]) for m in log] == [
        (10, "到货", user_id(world, "clerk"))
    ]


def test_admins_open_stations_and_grant_clerks(client: FlaskClient, world: World) -> None:
    created = world.call(
        client,
        "root",
        "POST",
        "/stations",
        {
            "org_id": world.ids["community_B"],
            "name": "爱心超市",
            "address": "和平路1号",
            "lat": 39.93,
            "lng": 116.42,
            "opening_hours": "周一至周五 9:00-17:00",
        },
    )
    assert created.status_code == 201, created.get_json()
    station = created.get_json()
    missing = world.call(client, "root", "POST", "/stations", {"name": "无处"})
    assert missing.status_code == 422
    granted = world.call(
        client,
        "root",
        "POST",
        f"/users/{world.ids['person_B']}/grants",
        {"role": "clerk", "scope_type": "station", "scope_id": station["id"]},
    )
    assert granted.status_code == 201, granted.get_json()
    shown = world.call(client, "member", "GET", f"/stations/{station['id']}").get_json()
    assert shown["clerk_ids"] == [world.ids["person_B"]]
    closed = world.call(client, "root", "PATCH", f"/stations/{station['id']}", {"active": False})
    assert closed.get_json()["active"] is False
    assert world.call(client, "member", "GET", f"/stations/{station['id']}").status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_station_report_per_day_and_item(
    client: FlaskClient, rich_member: World, fmt: str
) -> None:
    world = rich_member
    body = redeem(client, world, {"item_id": world.ids["item_A"], "quantity": 2}).get_json()
    station = world.ids["station_A"]
    world.call(
        client,
        "clerk",
        "POST",
        f"/stations/{station}/pickups",
        {"pickup_code": body["pickup_code"]},
    )
    now = utcnow()
    query = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
        "format": fmt,
    }
    response = client.get(
        f"/api/v1/stations/{station}/report",
        query_string=query,
        headers={"Authorization": f"Bearer {world.tokens['clerk']}"},
    )
    assert response.status_code == 200
    assert f"station-{station}-handed-out.{fmt}" in response.headers["Content-Disposition"]
    if fmt == "csv":
        rows = [line.split(",") for line in response.get_data().decode("utf-8-sig").splitlines()]
    else:
        sheet = load_workbook(io.BytesIO(response.get_data())).active
        assert sheet is not None
        rows = [[str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:4] == ["date", "item_id", "item", "quantity"]
    assert len(rows) == 2
    assert rows[1][2:5] == ["洗衣液", "2", "10"]
    backwards = client.get(
        f"/api/v1/stations/{station}/report",
        query_string={**query, "from": query["to"], "to": query["from"]},
        headers={"Authorization": f"Bearer {world.tokens['clerk']}"},
    )
    assert backwards.status_code == 422


def test_expire_command_releases_late_holds_once(
    app: Flask, client: FlaskClient, world: World
) -> None:
    later = (utcnow() + timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%S%z")
    runner = app.test_cli_runner()
    first = runner.invoke(cli, ["redemptions", "expire", "--now", later])
    assert first.exit_code == 0, first.output
    assert "expired 2 redemption(s)" in first.output  # the world's two shoppers
    again = runner.invoke(cli, ["redemptions", "expire", "--now", later])
    assert "expired 0 redemption(s)" in again.output
    item = world.call(client, "member", "GET", f"/stations/{world.ids['station_A']}/items")
    assert item.get_json()["items"][0]["stock"] == 10
    assert_ledger_clean(app)


def test_a_redemption_is_one_transaction_of_few_statements(
    app: Flask, client: FlaskClient, rich_member: World
) -> None:
    with app.app_context():
        engine = extensions.session().get_bind()
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2].split(None, 1)[0].upper())

    def committed(*args: Any) -> None:
        statements.append("<committed>")

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", committed)
    try:
        response = redeem(client, rich_member, {"item_id": rich_member.ids["item_A"]}, key="k")
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "commit", committed)
    assert response.status_code == 201
    # After its commit the outbox hands the redemption's notice to the inbox in
    # transactions of its own: the redemption is what came before.
    statements = statements[: statements.index("<committed>")]
    assert statements.count("COMMIT") <= 1
    # On SQLite the caller's account is read in a transaction of its own, ended before
    # the redemption's begins holding the write lock (BEGIN IMMEDIATE).
    on_sqlite = engine.dialect.name == "sqlite"
    assert statements.count("BEGIN") <= (2 if on_sqlite else 1)
    # Sign-in 2, Idempotency-Key 2, item and stock 2, redemption 1, the ledger's hold
    # (accounts, transfer, totals, lots) about 14, limits 1, stored response 1; plus
    # savepoints. A bound, so a change that adds a query per row shows up here.
    assert len(statements) <= 32, statements


def test_a_pickup_retried_with_its_key_gets_the_first_answer(
    app: Flask, client: FlaskClient, rich_member: World
) -> None:
    world = rich_member
    body = redeem(client, world, {"item_id": world.ids["item_A"]}).get_json()
    headers = {"Authorization": f"Bearer {world.tokens['clerk']}", "Idempotency-Key": "scan-1"}
    path = f"/api/v1/stations/{world.ids['station_A']}/pickups"
    first = client.post(path, json={"pickup_code": body["pickup_code"]}, headers=headers)
    retry = client.post(path, json={"pickup_code": body["pickup_code"]}, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert first.get_data() == retry.get_data()
    without_key = client.post(
        path,
        json={"pickup_code": body["pickup_code"]},
        headers={"Authorization": headers["Authorization"]},
    )
    assert without_key.get_json()["code"] == "pickup_code_used"
    assert_ledger_clean(app)


def test_old_idempotency_keys_are_forgotten(
    app: Flask, client: FlaskClient, rich_member: World
) -> None:
    body = {"item_id": rich_member.ids["item_A"]}
    first = redeem(client, rich_member, body, key="old")
    runner = app.test_cli_runner()
    kept = runner.invoke(cli, ["idempotency", "purge"])
    assert "forgot 0 stored response(s)" in kept.output
    with app.app_context():
        session = extensions.session()
        record = session.scalars(select(IdempotencyRecord)).one()
        record.created_at = utcnow() - timedelta(days=8)
        session.commit()
    gone = runner.invoke(cli, ["idempotency", "purge"])
    assert "forgot 1 stored response(s)" in gone.output
    again = redeem(client, rich_member, body, key="old")
    assert again.get_json()["id"] != first.get_json()["id"]  # a new request now


def test_clerks_see_what_waits_for_pickup_without_the_codes(
    client: FlaskClient, world: World
) -> None:
    station = world.ids["station_A"]
    waiting = world.call(client, "clerk", "GET", f"/stations/{station}/redemptions?status=held")
    assert waiting.status_code == 200
    [held] = waiting.get_json()["items"]
    assert held["id"] == world.ids["redemption_A"]
    assert held["user_id"] == world.ids["shopper_A"]
    assert "pickup_code" not in held
    assert "qr_payload" not in held
    other = world.call(client, "clerk", "GET", f"/stations/{world.ids['station_B']}/redemptions")
    assert other.status_code == 404


def test_the_demo_clerk_hands_over_what_a_demo_member_redeemed(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        demo = seed_demo_world(extensions.unit_of_work()).as_json()
        member = next(u for u in demo["users"] if u["openid"] == "demo-member-1")
        # What one door-knocking visit of three households earns by the starter rules.
        credit(extensions.session(), member["id"], "xingfubi", 5)
    station = demo["stations"][0]
    cheapest = min(station["items"], key=lambda item: item["price"])
    member_headers = signed_in_headers(client, "demo-member-1")
    held = client.post(
        "/api/v1/redemptions", json={"item_id": cheapest["id"]}, headers=member_headers
    )
    assert held.status_code == 201, held.get_json()
    [clerk] = station["clerk_openids"]
    picked = client.post(
        f"/api/v1/stations/{station['id']}/pickups",
        json={"pickup_code": held.get_json()["pickup_code"]},
        headers=signed_in_headers(client, clerk),
    )
    assert picked.status_code == 200, picked.get_json()
    assert_ledger_clean(app)


@pytest.mark.parametrize("currency", ["jifen", "õº", "dollars"])
def test_an_item_is_priced_only_in_a_spendable_currency_we_have(
    client: FlaskClient, world: World, currency: str
) -> None:
    item = world.ids["item_A"]
    response = world.call(client, "staff", "PATCH", f"/items/{item}", {"currency": currency})
    assert response.status_code == 422, response.get_json()
    assert "currency" in response.get_json()["errors"]
    shown = world.call(client, "member", "GET", f"/stations/{world.ids['station_A']}/items")
    assert {i["currency"] for i in shown.get_json()["items"]} == {"xingfubi"}
