from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import httpx
import pytest
import redis
from flask import Flask

from api import extensions
from points.errors import DomainError, Forbidden, RateLimited, Unauthenticated, Unavailable
from service.wechat.client import (
    FakeWechatClient,
    WechatClient,
    WechatCodeInvalid,
    WechatIdentity,
    WechatRateLimited,
    WechatUnavailable,
    WechatUserBlocked,
    wechat_gateway,
)
from tests.conftest import Backend
from tests.wechat_stub import LOGIN, PHONE, STABLE_TOKEN, WechatStub

MakeClient = Callable[..., WechatClient]


@pytest.fixture
def cache(app: Flask) -> redis.Redis:
    with app.app_context():
        return extensions.redis_client()


@pytest.fixture
def key_prefix(backend: Backend) -> str:
    return f"{backend.redis_prefix}wx:{uuid4().hex[:6]}:"


@pytest.fixture
def make_client(stub: WechatStub, cache: redis.Redis, key_prefix: str) -> Iterator[MakeClient]:
    clients: list[WechatClient] = []

    def make(**overrides: object) -> WechatClient:
        options: dict[str, object] = {
            "appid": stub.appid,
            "secret": stub.secret,
            "base_url": stub.base_url,
            "timeout_seconds": 2.0,
            "cache": cache,
            "key_prefix": key_prefix,
        }
        client = WechatClient(**(options | overrides))  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def wechat(make_client: MakeClient) -> WechatClient:
    return make_client()


def token_key(key_prefix: str) -> str:
    return f"{key_prefix}wechat:access_token"


# --- login -------------------------------------------------------------------------------


def test_login_returns_the_identity_and_forgets_the_session_key(
    stub: WechatStub, wechat: WechatClient
) -> None:
    stub.add_user("code-1", openid="openid-1", unionid="union-1")
    stub.add_user("code-2", openid="openid-2")

    first = wechat.login("code-1")
    second = wechat.login("code-2")

    assert first == WechatIdentity(openid="openid-1", unionid="union-1")
    assert second == WechatIdentity(openid="openid-2", unionid=None)
    assert [field.name for field in dataclasses.fields(first)] == ["openid", "unionid"]
    assert "session" not in repr(first)
    assert "session-key-of" not in repr(first)
    (path, query, _), _ = stub.requests
    assert path == LOGIN
    assert query == {
        "appid": stub.appid,
        "secret": stub.secret,
        "js_code": "code-1",
        "grant_type": "authorization_code",
    }


def test_a_login_code_works_once(stub: WechatStub, wechat: WechatClient) -> None:
    stub.add_user("code-1", openid="openid-1")
    assert wechat.login("code-1").openid == "openid-1"

    with pytest.raises(WechatCodeInvalid, match="40163"):
        wechat.login("code-1")
    with pytest.raises(WechatCodeInvalid, match="40029"):
        wechat.login("never-issued")


@pytest.mark.parametrize(
    ("errcode", "error", "base", "code"),
    [
        (40029, WechatCodeInvalid, Unauthenticated, "wechat_code_invalid"),
        (40163, WechatCodeInvalid, Unauthenticated, "wechat_code_invalid"),
        (45011, WechatRateLimited, RateLimited, "wechat_rate_limited"),
        (40226, WechatUserBlocked, Forbidden, "wechat_user_blocked"),
        (-1, WechatUnavailable, Unavailable, "wechat_unavailable"),
        (99999, WechatUnavailable, Unavailable, "wechat_unavailable"),
    ],
)
def test_login_errcodes_become_domain_errors(
    stub: WechatStub,
    wechat: WechatClient,
    errcode: int,
    error: type[DomainError],
    base: type[DomainError],
    code: str,
) -> None:
    stub.add_user("code-1", openid="openid-1")
    stub.fail_next(LOGIN, {"errcode": errcode, "errmsg": "from the stub"})

    with pytest.raises(DomainError) as raised:
        wechat.login("code-1")

    assert type(raised.value) is error
    assert isinstance(raised.value, base)
    assert raised.value.code == code
    assert str(errcode) in raised.value.message


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param("Internal Server Error", 500, id="http-500"),
        pytest.param(None, 502, id="http-502-with-json"),
        pytest.param("<html>system busy</html>", 200, id="not-json"),
        pytest.param("[1, 2]", 200, id="json-but-not-an-object"),
        pytest.param({"errcode": 0, "errmsg": "ok"}, 200, id="no-openid"),
    ],
)
def test_broken_answers_mean_wechat_is_unavailable(
    stub: WechatStub, wechat: WechatClient, body: dict[str, object] | str | None, status: int
) -> None:
    stub.add_user("code-1", openid="openid-1")
    stub.fail_next(LOGIN, body, status=status)

    with pytest.raises(WechatUnavailable) as raised:
        wechat.login("code-1")
    assert raised.value.code == "wechat_unavailable"


def test_a_slow_wechat_times_out_without_leaking_the_secret(
    stub: WechatStub, make_client: MakeClient
) -> None:
    wechat = make_client(timeout_seconds=0.3)
    stub.add_user("code-1", openid="openid-1")
    stub.fail_next(LOGIN, delay=1.5)

    started = time.monotonic()
    with pytest.raises(WechatUnavailable, match="Timeout") as raised:
        wechat.login("code-1")

    assert time.monotonic() - started < 1.0
    assert stub.secret not in "".join(traceback.format_exception(raised.value))


def test_an_unreachable_wechat_is_unavailable(make_client: MakeClient) -> None:
    # A bound socket that never listens: connecting to it is refused at once.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        wechat = make_client(base_url=f"http://127.0.0.1:{port}")
        with pytest.raises(WechatUnavailable, match="ConnectError"):
            wechat.login("code-1")


def test_a_wrong_secret_fails_without_showing_it(
    stub: WechatStub, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-secret-3f9a"
    wechat = make_client(secret=wrong)
    stub.add_user("code-1", openid="openid-1")

    with caplog.at_level(logging.DEBUG), pytest.raises(WechatUnavailable) as raised:
        wechat.login("code-1")

    assert "40125" in raised.value.message
    assert wrong not in "".join(traceback.format_exception(raised.value))
    assert wrong not in repr(wechat)
    assert stub.requests[0][1]["secret"] == wrong  # it was sent, just never shown
    assert wrong not in caplog.text


def test_a_wrong_appid_fails(stub: WechatStub, make_client: MakeClient) -> None:
    stub.add_user("code-1", openid="openid-1")
    with pytest.raises(WechatUnavailable, match="40013"):
        make_client(appid="wx-someone-else").login("code-1")
    with pytest.raises(WechatUnavailable, match="40013"):
        make_client(appid="wx-someone-else").access_token()


# --- access token ------------------------------------------------------------------------


def test_the_access_token_is_cached_and_shared(
    stub: WechatStub, make_client: MakeClient, cache: redis.Redis, key_prefix: str
) -> None:
    first = make_client().access_token()
    second = make_client().access_token()

    assert first == second == stub.current_token
    assert stub.calls[STABLE_TOKEN] == 1
    (_, _, payload), *_ = stub.requests
    assert payload == {
        "grant_type": "client_credential",
        "appid": stub.appid,
        "secret": stub.secret,
        "force_refresh": False,
    }
    assert cache.get(token_key(key_prefix)) == first.encode()
    assert not cache.exists(f"{token_key(key_prefix)}:lock")


@pytest.mark.parametrize(("expires_in", "ttl"), [(7200, 6900), (200, 60), (30, 30)])
def test_the_cached_token_expires_before_wechats_does(
    stub: WechatStub,
    wechat: WechatClient,
    cache: redis.Redis,
    key_prefix: str,
    expires_in: int,
    ttl: int,
) -> None:
    stub.token_expires_in = expires_in
    wechat.access_token()
    assert ttl - 2 <= cache.ttl(token_key(key_prefix)) <= ttl


def test_only_one_process_refreshes_the_token(stub: WechatStub, make_client: MakeClient) -> None:
    # The slow answer keeps the refresh in flight while every other client misses the cache.
    stub.fail_next(STABLE_TOKEN, delay=0.3)
    clients = [make_client() for _ in range(8)]
    start = threading.Barrier(len(clients))

    def fetch(client: WechatClient) -> str:
        start.wait(timeout=5)
        return client.access_token()

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        tokens = list(pool.map(fetch, clients))

    assert stub.calls[STABLE_TOKEN] == 1
    assert set(tokens) == {stub.current_token}


def test_a_lock_left_by_a_dead_process_expires(
    stub: WechatStub, wechat: WechatClient, cache: redis.Redis, key_prefix: str
) -> None:
    cache.set(f"{token_key(key_prefix)}:lock", "someone-who-died", px=300)

    assert wechat.access_token() == stub.current_token
    assert stub.calls[STABLE_TOKEN] == 1


def test_waiting_for_the_lock_is_bounded(
    stub: WechatStub, make_client: MakeClient, cache: redis.Redis, key_prefix: str
) -> None:
    cache.set(f"{token_key(key_prefix)}:lock", "a-stuck-refresher", px=10_000)
    wechat = make_client(timeout_seconds=0.3)

    started = time.monotonic()
    with pytest.raises(WechatUnavailable, match="waiting"):
        wechat.access_token()
    assert time.monotonic() - started < 3
    assert stub.calls[STABLE_TOKEN] == 0
    assert cache.get(f"{token_key(key_prefix)}:lock") == b"a-stuck-refresher"


# --- phone number ------------------------------------------------------------------------


def test_phone_number(stub: WechatStub, wechat: WechatClient) -> None:
    stub.phones["phone-code-1"] = "13800001234"

    assert wechat.phone_number("phone-code-1") == "13800001234"
    assert stub.calls == {STABLE_TOKEN: 1, PHONE: 1}
    path, query, payload = stub.requests[-1]
    assert (path, query, payload) == (
        PHONE,
        {"access_token": stub.current_token},
        {"code": "phone-code-1"},
    )


@pytest.mark.parametrize("reject", ["revoked", 40001, 42001])
def test_a_rejected_token_is_replaced_and_the_call_retried_once(
    stub: WechatStub,
    wechat: WechatClient,
    cache: redis.Redis,
    key_prefix: str,
    reject: str | int,
) -> None:
    stub.phones["phone-code-1"] = "13800001234"
    old = wechat.access_token()
    if reject == "revoked":
        stub.expire_token()
    else:
        stub.fail_next(PHONE, {"errcode": reject, "errmsg": "access_token expired"})

    assert wechat.phone_number("phone-code-1") == "13800001234"

    assert stub.calls == {STABLE_TOKEN: 2, PHONE: 2}
    forced = [p["force_refresh"] for path, _, p in stub.requests if path == STABLE_TOKEN]
    assert forced == [False, True]
    new = stub.current_token
    assert new is not None
    assert new != old
    assert cache.get(token_key(key_prefix)) == new.encode()
    assert [q["access_token"] for path, q, _ in stub.requests if path == PHONE] == [old, new]


def test_a_token_rejected_twice_means_wechat_is_unavailable(
    stub: WechatStub, wechat: WechatClient
) -> None:
    stub.phones["phone-code-1"] = "13800001234"
    for _ in range(2):
        stub.fail_next(PHONE, {"errcode": 40001, "errmsg": "invalid credential"})

    with pytest.raises(WechatUnavailable, match="40001"):
        wechat.phone_number("phone-code-1")
    assert stub.calls == {STABLE_TOKEN: 2, PHONE: 2}


def test_a_failed_refresh_leaves_no_rejected_token_behind(
    stub: WechatStub, wechat: WechatClient, cache: redis.Redis, key_prefix: str
) -> None:
    stub.phones["phone-code-1"] = "13800001234"
    wechat.access_token()
    stub.expire_token()
    stub.fail_next(STABLE_TOKEN, {"errcode": -1, "errmsg": "system busy"})

    with pytest.raises(WechatUnavailable, match="-1"):
        wechat.phone_number("phone-code-1")
    assert cache.get(token_key(key_prefix)) is None

    assert wechat.phone_number("phone-code-1") == "13800001234"


def test_a_bad_phone_code_is_invalid(stub: WechatStub, wechat: WechatClient) -> None:
    stub.phones["phone-code-1"] = "13800001234"
    wechat.phone_number("phone-code-1")

    with pytest.raises(WechatCodeInvalid, match="40029"):
        wechat.phone_number("never-issued")
    with pytest.raises(WechatCodeInvalid, match="40163"):
        wechat.phone_number("phone-code-1")
    assert stub.calls[STABLE_TOKEN] == 1


# --- construction ------------------------------------------------------------------------


def test_close_leaves_a_borrowed_http_client_open(stub: WechatStub, cache: redis.Redis) -> None:
    stub.add_user("code-1", openid="openid-1")
    with httpx.Client(timeout=2) as http:
        wechat = WechatClient(
            appid=stub.appid,
            secret=stub.secret,
            base_url=f"{stub.base_url}/",
            timeout_seconds=2,
            cache=cache,
            key_prefix="unused:",
            http=http,
        )
        assert wechat.login("code-1").openid == "openid-1"
        wechat.close()
        assert not http.is_closed


def test_the_settings_choose_the_gateway(
    stub: WechatStub, backend: Backend, cache: redis.Redis
) -> None:
    fake = wechat_gateway(backend.settings(), cache)
    assert isinstance(fake, FakeWechatClient)

    live = wechat_gateway(backend.settings(**stub.settings_overrides()), cache)
    try:
        assert isinstance(live, WechatClient)
        stub.add_user("code-1", openid="openid-1")
        assert live.login("code-1").openid == "openid-1"
    finally:
        live.close()


# --- fake mode ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["demo-staff-1", "a", "A" * 64, "Z_9-x"])
def test_fake_login_takes_the_code_as_the_openid(code: str) -> None:
    assert FakeWechatClient().login(code) == WechatIdentity(openid=code, unionid=None)


@pytest.mark.parametrize(
    "code", ["", "a" * 65, "has space", "demo\n", "a/b", "a.b", "用户", "ö", "x;drop"]
)
def test_fake_login_refuses_what_cannot_be_an_openid(code: str) -> None:
    with pytest.raises(WechatCodeInvalid):
        FakeWechatClient().login(code)


@pytest.mark.parametrize("code", ["13800001234", "19912345678", "10000000000"])
def test_fake_phone_takes_the_code_as_the_number(code: str) -> None:
    assert FakeWechatClient().phone_number(code) == code


@pytest.mark.parametrize(
    "code",
    [
        "",
        "1380000123",
        "138000012345",
        "23800001234",
        "+8613800001234",
        "138-0000-1234",
        "１３８００００１２３４",
        "13800001234\n",
        "1380000123a",
    ],
)
def test_fake_phone_refuses_what_is_not_a_mainland_mobile(code: str) -> None:
    with pytest.raises(WechatCodeInvalid):
        FakeWechatClient().phone_number(code)
