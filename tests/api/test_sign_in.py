"""Sign-in, tokens and sign-out through HTTP (WeChat in fake mode: code = openid)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import extensions
from service.auth.passwords import hash_password
from service.auth.tokens import AUDIENCE, ISSUER, signing_key
from service.db import utcnow
from service.people.models import User
from tests.conftest import AppFactory

WECHAT = "/api/v1/auth/wechat"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
PASSWORD = "/api/v1/auth/password"
ME = "/api/v1/me"


def sign_in(client: FlaskClient, openid: str = "o-alice") -> dict[str, Any]:
    response = client.post(WECHAT, json={"code": openid})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_first_sign_in_creates_the_account_and_the_next_finds_it(client: FlaskClient) -> None:
    first = sign_in(client)
    assert first["token_type"] == "Bearer"
    assert first["expires_in"] == 900
    assert first["user"]["name"] == "微信用户"
    assert first["user"]["roles"] == []
    assert "session_key" not in json.dumps(first)
    second = sign_in(client)
    assert second["user"]["id"] == first["user"]["id"]
    me = client.get(ME, headers=bearer(second["access_token"]))
    assert me.status_code == 200
    assert me.get_json()["id"] == first["user"]["id"]


@pytest.mark.parametrize("code", ["", "has space", "x" * 65, "中文"])
def test_a_bad_fake_code_is_refused(client: FlaskClient, code: str) -> None:
    response = client.post(WECHAT, json={"code": code})
    assert response.status_code in (401, 422)
    assert response.get_json()["code"] in ("wechat_code_invalid", "validation_error")


def test_sign_in_without_a_code_is_422(client: FlaskClient) -> None:
    response = client.post(WECHAT, json={})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"code"}


def forge(app: Flask, user_id: int, key: bytes | None = None, **changes: Any) -> str:
    now = utcnow()
    with app.app_context():
        secret = extensions.settings().secret_key
        version = extensions.session().get(User, user_id).token_version  # type: ignore[union-attr]
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "ver": version,
        "fam": "f" * 32,
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key or signing_key(secret), algorithm="HS256")


def unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_a_well_formed_forged_token_is_accepted_so_the_tamper_tests_mean_something(
    app: Flask, client: FlaskClient
) -> None:
    user_id = sign_in(client)["user"]["id"]
    assert client.get(ME, headers=bearer(forge(app, user_id))).status_code == 200


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("alg_none", "invalid_token"),
        ("wrong_key", "invalid_token"),
        ("expired", "token_expired"),
        ("wrong_audience", "invalid_token"),
        ("wrong_issuer", "invalid_token"),
        ("missing_exp", "invalid_token"),
        ("missing_version", "invalid_token"),
        ("old_version", "token_outdated"),
        ("unknown_user", "invalid_token"),
        ("garbage", "invalid_token"),
        ("truncated_signature", "invalid_token"),
    ],
)
def test_tampered_tokens_are_401(app: Flask, client: FlaskClient, tamper: str, code: str) -> None:
    user_id = sign_in(client)["user"]["id"]
    now = utcnow()
    token = {
        "alg_none": lambda: unsigned(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": str(user_id),
                "ver": 0,
                "fam": "f",
                "iat": int(now.timestamp()),
                "exp": int(now.timestamp()) + 300,
            }
        ),
        "wrong_key": lambda: forge(app, user_id, key=b"k" * 32),
        "expired": lambda: forge(app, user_id, exp=now - timedelta(seconds=1)),
        "wrong_audience": lambda: forge(app, user_id, aud="someone-else"),
        "wrong_issuer": lambda: forge(app, user_id, iss="someone-else"),
        "missing_exp": lambda: forge(app, user_id, exp=None),
        "missing_version": lambda: forge(app, user_id, ver=None),
        "old_version": lambda: forge(app, user_id, ver=-1),
        "unknown_user": lambda: forge(app, user_id, sub="999999"),
        "garbage": lambda: "not.a.token",
        "truncated_signature": lambda: forge(app, user_id)[:-4],
    }[tamper]()
    response = client.get(ME, headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["code"] == code


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token x"])
def test_a_missing_or_malformed_authorization_header_is_401(
    client: FlaskClient, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.get(ME, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthenticated"


def test_refresh_rotates_and_a_reused_token_revokes_the_family(client: FlaskClient) -> None:
    first = sign_in(client)
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get(ME, headers=bearer(second["access_token"])).status_code == 200

    replay = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.get_json()["code"] == "refresh_token_reused"
    # The thief may hold the newest token: it dies with the family.
    after = client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    assert after.get_json()["code"] == "invalid_refresh_token"


def test_other_devices_keep_their_own_family(client: FlaskClient) -> None:
    phone = sign_in(client)
    tablet = sign_in(client)
    client.post(REFRESH, json={"refresh_token": phone["refresh_token"]})
    client.post(REFRESH, json={"refresh_token": phone["refresh_token"]})  # reuse: phone revoked
    tablet_refresh = client.post(REFRESH, json={"refresh_token": tablet["refresh_token"]})
    assert tablet_refresh.status_code == 200


@pytest.mark.parametrize("token", ["", "x" * 300, "not-a-token-we-issued"])
def test_unknown_refresh_tokens_are_refused(client: FlaskClient, token: str) -> None:
    response = client.post(REFRESH, json={"refresh_token": token})
    assert response.status_code in (401, 422)
    assert response.get_json()["code"] in ("invalid_refresh_token", "validation_error")


def test_logout_ends_the_access_token_and_the_refresh_family(client: FlaskClient) -> None:
    signed = sign_in(client)
    assert client.post(LOGOUT, headers=bearer(signed["access_token"])).status_code == 204
    after = client.get(ME, headers=bearer(signed["access_token"]))
    assert after.status_code == 401
    assert after.get_json()["code"] == "token_outdated"
    refreshed = client.post(REFRESH, json={"refresh_token": signed["refresh_token"]})
    assert refreshed.status_code == 401


def test_logout_needs_a_token(client: FlaskClient) -> None:
    assert client.post(LOGOUT).status_code == 401


def make_console_user(app: Flask, username: str, password: str) -> int:
    with app.app_context():
        session = extensions.session()
        user = User(name="王芳", username=username, password_hash=hash_password(password))
        session.add(user)
        session.commit()
        return user.id


def test_password_sign_in_and_lockout(app: Flask, client: FlaskClient) -> None:
    make_console_user(app, "wangfang", "correct horse battery")
    ok = client.post(PASSWORD, json={"username": "wangfang", "password": "correct horse battery"})
    assert ok.status_code == 200
    assert ok.get_json()["user"]["name"] == "王芳"

    for _ in range(5):
        wrong = client.post(PASSWORD, json={"username": "wangfang", "password": "guess"})
        assert wrong.status_code == 401
        assert wrong.get_json()["code"] == "invalid_credentials"
    locked = client.post(
        PASSWORD, json={"username": "wangfang", "password": "correct horse battery"}
    )
    assert locked.status_code == 429
    assert locked.get_json()["code"] == "account_locked"


def test_a_success_before_the_limit_resets_the_count(app: Flask, client: FlaskClient) -> None:
    user_id = make_console_user(app, "wuminn", "another long password")
    for _ in range(4):
        client.post(PASSWORD, json={"username": "wuminn", "password": "guess"})
    assert (
        client.post(
            PASSWORD, json={"username": "wuminn", "password": "another long password"}
        ).status_code
        == 200
    )
    with app.app_context():
        assert extensions.session().get(User, user_id).failed_logins == 0  # type: ignore[union-attr]


def test_an_unknown_username_answers_like_a_wrong_password(client: FlaskClient) -> None:
    response = client.post(PASSWORD, json={"username": "nobody", "password": "whatever it is"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_credentials"
    assert response.get_json()["message"] == "wrong username or password"


def test_sign_in_is_rate_limited_per_address(make_app: AppFactory, fresh_state: None) -> None:
    client = make_app(sign_in_rate_limit="3 per minute").test_client()
    statuses = [client.post(WECHAT, json={"code": f"o-{n}"}).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.post(WECHAT, json={"code": "o-x"}).get_json()["code"] == "rate_limited"
