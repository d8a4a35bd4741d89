"""Sign-in and phone binding through HTTP against the stub WeChat server (live mode)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import AppFactory
from tests.wechat_stub import LOGIN, PHONE, STABLE_TOKEN, WechatStub


@pytest.fixture
def live(make_app: AppFactory, stub: WechatStub, fresh_state: None) -> FlaskClient:
    return make_app(**stub.settings_overrides()).test_client()


def test_the_whole_sign_in_against_wechat(live: FlaskClient, stub: WechatStub) -> None:
    stub.add_user("code-1", "openid-alice", unionid="union-alice")
    response = live.post("/api/v1/auth/wechat", json={"code": "code-1"})
    assert response.status_code == 200
    body = response.get_json()
    assert "session_key" not in response.get_data(as_text=True)
    assert stub.calls[LOGIN] == 1
    [request] = [r for r in stub.requests if r[0] == LOGIN]
    assert request[1]["js_code"] == "code-1"

    stub.phones["phone-code-1"] = "13800001234"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    bound = live.post("/api/v1/me/phone", json={"code": "phone-code-1"}, headers=headers)
    assert bound.status_code == 200
    assert bound.get_json()["user"]["phone_masked"] == "138****1234"
    assert stub.calls[STABLE_TOKEN] == 1
    assert stub.calls[PHONE] == 1

    # A used code is refused by WeChat, and so by us.
    again = live.post("/api/v1/auth/wechat", json={"code": "code-1"})
    assert again.status_code == 401
    assert again.get_json()["code"] == "wechat_code_invalid"


@pytest.mark.parametrize(
    ("errcode", "status", "code"),
    [
        (40029, 401, "wechat_code_invalid"),
        (40163, 401, "wechat_code_invalid"),
        (45011, 429, "wechat_rate_limited"),
        (40226, 403, "wechat_user_blocked"),
        (-1, 503, "wechat_unavailable"),
        (99999, 503, "wechat_unavailable"),
    ],
)
def test_wechat_errors_become_clear_answers(
    live: FlaskClient, stub: WechatStub, errcode: int, status: int, code: str
) -> None:
    stub.fail_next(LOGIN, body={"errcode": errcode, "errmsg": "stub"})
    response = live.post("/api/v1/auth/wechat", json={"code": "any-code"})
    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == code
    assert body["request_id"]


def test_wechat_down_is_503(live: FlaskClient, stub: WechatStub) -> None:
    stub.fail_next(LOGIN, body="<html>bad gateway</html>", status=502)
    response = live.post("/api/v1/auth/wechat", json={"code": "any-code"})
    assert response.status_code == 503
    assert response.get_json()["code"] == "wechat_unavailable"
    assert "stub-secret" not in response.get_data(as_text=True)
