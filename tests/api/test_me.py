"""The signed-in person's own profile and phone (WeChat in fake mode)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api import extensions
from points.access import Role, ScopeType
from points.places import PlaceLevel
from service.people.directory import ensure_grant
from service.people.models import User
from service.places.tree import add_place
from tests.conftest import signed_in_headers
from tests.ledger_helpers import credit

ME = "/api/v1/me"
PHONE = "/api/v1/me/phone"


@pytest.fixture
def places(app: Flask, fresh_state: None) -> dict[str, int]:
    with app.app_context():
        session = extensions.session()
        street = add_place(session, None, "街道", PlaceLevel.STREET)
        community = add_place(session, street, "社区", PlaceLevel.COMMUNITY)
        grid = add_place(session, community, "网格", PlaceLevel.GRID)
        session.commit()
        return {"street": street.id, "community": community.id, "grid": grid.id}


def me(client: FlaskClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(ME, headers=headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def test_a_person_changes_their_name_and_consents(client: FlaskClient) -> None:
    headers = signed_in_headers(client, "o-zhao")
    response = client.patch(
        ME,
        json={
            "name": "赵桂兰",
            "privacy_policy_version": "2026-10",
            "avatar_url": "https://img.example/a.png",
        },
        headers=headers,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "赵桂兰"
    assert body["privacy_policy_version"] == "2026-10"
    assert body["privacy_consented_at"] is not None
    assert me(client, headers)["avatar_url"] == "https://img.example/a.png"


@pytest.mark.parametrize(
    "body",
    [
        {"roles": [{"role": "admin", "scope_type": "org", "scope_id": 1}]},
        {"id": 1},
        {"token_version": 0},
        {"phone_masked": "138****0000"},
        {"name": "改名", "points": 1000},
        {"name": ""},
        {"name": "x" * 33},
        {"avatar_url": "javascript:alert(1)"},
        {"avatar_url": "http://not-https.example/a.png"},
        {"residence_place_id": 0},
    ],
)
def test_fields_a_person_may_not_set_are_refused_and_nothing_changes(
    client: FlaskClient, body: dict[str, Any]
) -> None:
    headers = signed_in_headers(client, "o-mass")
    before = me(client, headers)
    response = client.patch(ME, json=body, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
    assert set(response.get_json()["errors"]) <= set(body)
    assert me(client, headers) == before


def test_residence_is_chosen_once_and_makes_a_resident(
    client: FlaskClient, places: dict[str, int]
) -> None:
    headers = signed_in_headers(client, "o-new")
    chosen = client.patch(ME, json={"residence_place_id": places["grid"]}, headers=headers)
    assert chosen.status_code == 200
    assert chosen.get_json()["roles"] == [
        {"role": "resident", "scope_type": "org", "scope_id": places["grid"]}
    ]
    again = client.patch(ME, json={"residence_place_id": places["grid"]}, headers=headers)
    assert again.status_code == 200
    moved = client.patch(ME, json={"residence_place_id": places["community"]}, headers=headers)
    assert moved.status_code == 409
    assert moved.get_json()["code"] == "residence_locked"
    assert me(client, headers)["residence_place_id"] == places["grid"]


def test_residence_must_be_a_real_community_or_below(
    client: FlaskClient, places: dict[str, int]
) -> None:
    headers = signed_in_headers(client, "o-new")
    street = client.patch(ME, json={"residence_place_id": places["street"]}, headers=headers)
    assert street.status_code == 422
    assert "residence_place_id" in street.get_json()["errors"]
    missing = client.patch(ME, json={"residence_place_id": 987654}, headers=headers)
    assert missing.status_code == 404
    assert me(client, headers)["residence_place_id"] is None


def test_binding_a_phone_stores_it_encrypted_and_shows_it_masked(
    app: Flask, client: FlaskClient
) -> None:
    headers = signed_in_headers(client, "o-phone")
    response = client.post(PHONE, json={"code": "13800001234"}, headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["linked_to_roster"] is False
    assert "access_token" not in body
    assert body["user"]["phone_masked"] == "138****1234"
    with app.app_context():
        user = extensions.session().scalars(select(User).where(User.openid == "o-phone")).one()
        assert "13800001234" not in (user.phone_ciphertext or "")
        assert extensions.phone_vault().open(user.phone_ciphertext or "") == "13800001234"
        assert user.phone_hash == extensions.phone_vault().lookup_hash("+86 138-0000-1234")


def test_a_bad_phone_code_is_refused(client: FlaskClient) -> None:
    headers = signed_in_headers(client, "o-phone")
    response = client.post(PHONE, json={"code": "12345"}, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "wechat_code_invalid"
    assert me(client, headers)["phone_masked"] is None


def test_a_phone_on_the_roster_links_the_person_to_their_roster_entry(
    app: Flask, client: FlaskClient, places: dict[str, int]
) -> None:
    with app.app_context():
        session = extensions.session()
        sealed = extensions.phone_vault().seal("13912345678")
        entry = User(
            name="李建国",
            residence_place_id=places["grid"],
            phone_ciphertext=sealed.ciphertext,
            phone_hash=sealed.lookup_hash,
            phone_masked=sealed.masked,
        )
        session.add(entry)
        session.flush()
        ensure_grant(session, entry, Role.MEMBER, ScopeType.PLACE, places["grid"])
        session.commit()
        entry_id = entry.id

    old = signed_in_headers(client, "o-lijianguo")
    response = client.post(PHONE, json={"code": "13912345678"}, headers=old)
    assert response.status_code == 200
    body = response.get_json()
    assert body["linked_to_roster"] is True
    assert body["user"]["id"] == entry_id
    assert body["user"]["roles"] == [
        {"role": "member", "scope_type": "org", "scope_id": places["grid"]}
    ]

    new = {"Authorization": f"Bearer {body['access_token']}"}
    assert me(client, new)["name"] == "李建国"
    assert client.get(ME, headers=old).status_code == 401
    # Signing in again with WeChat now finds the roster entry.
    again = client.post("/api/v1/auth/wechat", json={"code": "o-lijianguo"}).get_json()
    assert again["user"]["id"] == entry_id


def test_a_phone_bound_to_another_wechat_account_is_409(client: FlaskClient) -> None:
    first = signed_in_headers(client, "o-first")
    assert client.post(PHONE, json={"code": "13700000001"}, headers=first).status_code == 200
    second = signed_in_headers(client, "o-second")
    response = client.post(PHONE, json={"code": "13700000001"}, headers=second)
    assert response.status_code == 409
    assert response.get_json()["code"] == "phone_taken"
    assert me(client, second)["phone_masked"] is None


def test_an_account_with_points_is_not_merged_into_the_roster_silently(
    app: Flask, client: FlaskClient, places: dict[str, int]
) -> None:
    with app.app_context():
        session = extensions.session()
        sealed = extensions.phone_vault().seal("13911112222")
        session.add(
            User(
                name="刘伟",
                residence_place_id=places["grid"],
                phone_ciphertext=sealed.ciphertext,
                phone_hash=sealed.lookup_hash,
                phone_masked=sealed.masked,
            )
        )
        session.commit()
    headers = signed_in_headers(client, "o-liuwei")
    with app.app_context():
        session = extensions.session()
        me_id = session.scalars(select(User.id).where(User.openid == "o-liuwei")).one()
        credit(session, me_id, "xingfubi", 12)
    response = client.post(PHONE, json={"code": "13911112222"}, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["code"] == "account_has_history"
    assert me(client, headers)["id"] == me_id
    balance = client.get("/api/v1/me/accounts", headers=headers).get_json()["items"]
    assert {a["currency"]: a["balance"] for a in balance}["xingfubi"] == 12


def test_an_account_that_signed_up_for_a_task_is_not_merged_either(
    app: Flask, client: FlaskClient, places: dict[str, int]
) -> None:
    from datetime import timedelta

    from service.db import utcnow
    from service.tasks.models import Participation, Task

    with app.app_context():
        session = extensions.session()
        sealed = extensions.phone_vault().seal("13933334444")
        session.add(
            User(
                name="陈静",
                residence_place_id=places["grid"],
                phone_ciphertext=sealed.ciphertext,
                phone_hash=sealed.lookup_hash,
                phone_masked=sealed.masked,
            )
        )
        session.commit()
    headers = signed_in_headers(client, "o-chenjing")
    with app.app_context():
        session = extensions.session()
        me_id = session.scalars(select(User.id).where(User.openid == "o-chenjing")).one()
        starts = utcnow() + timedelta(days=1)
        task = Task(
            place_id=places["community"],
            title="清理楼道",
            category="environment",
            type="cleanup",
            lat=39.9,
            lng=116.4,
            radius_m=200,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            capacity=5,
            audience="everyone",
            checkin_mode="geofence",
            work_unit="hours",
            status="published",
            created_by_id=me_id,
        )
        session.add(task)
        session.flush()
        session.add(Participation(task_id=task.id, user_id=me_id, role="resident"))
        session.commit()
    response = client.post(PHONE, json={"code": "13933334444"}, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["code"] == "account_has_history"
    assert me(client, headers)["id"] == me_id
