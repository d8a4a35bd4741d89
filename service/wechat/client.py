"""Clients for the WeChat mini-program server API.

``WechatClient`` calls WeChat (or a stub at the configured base URL); ``FakeWechatClient``
is the demo mode that needs no network. The ``session_key`` WeChat returns at sign-in is
dropped on arrival: we never decrypt user data with it, so keeping it would only be a risk.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import redis
from redis.exceptions import LockError

from points.errors import DomainError, Forbidden, RateLimited, Unauthenticated, Unavailable
from service.config import Settings, WechatMode

_TOKEN_MARGIN_SECONDS = 300  # expire our copy before WeChat does, so no request gets a dying token
_TOKEN_MIN_TTL_SECONDS = 60
_LOCK_SECONDS = 10.0  # a refresher that died frees the lock after this
_TOKEN_REJECTED = frozenset({40001, 42001})  # access token invalid / expired


class WechatCodeInvalid(Unauthenticated):
    code = "wechat_code_invalid"


class WechatRateLimited(RateLimited):
    code = "wechat_rate_limited"


class WechatUserBlocked(Forbidden):
    code = "wechat_user_blocked"


class WechatUnavailable(Unavailable):
    code = "wechat_unavailable"


_ERRORS: dict[int, tuple[type[DomainError], str]] = {
    40029: (WechatCodeInvalid, "the WeChat code is invalid"),
    40163: (WechatCodeInvalid, "the WeChat code has already been used"),
    45011: (WechatRateLimited, "WeChat asks us to slow down; try again in a minute"),
    40226: (WechatUserBlocked, "WeChat flags this user as high-risk"),
}


@dataclass(frozen=True)
class WechatIdentity:
    openid: str
    unionid: str | None


class WechatGateway(Protocol):
    def login(self, code: str) -> WechatIdentity: ...
    def phone_number(self, code: str) -> str: ...
    def close(self) -> None: ...


class WechatClient:
    def __init__(
        self,
        *,
        appid: str,
        secret: str,
        base_url: str,
        timeout_seconds: float,
        cache: redis.Redis,
        key_prefix: str,
        http: httpx.Client | None = None,
    ) -> None:
        self._appid = appid
        self._secret = secret
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._cache = cache
        self._token_key = f"{key_prefix}wechat:access_token"
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=httpx.Timeout(timeout_seconds))

    def __repr__(self) -> str:
        return f"WechatClient(appid={self._appid!r}, base_url={self._base_url!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def login(self, code: str) -> WechatIdentity:
        params = {
            "appid": self._appid,
            "secret": self._secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        body = _check(self._call("GET", "/sns/jscode2session", params=params), "login")
        openid, unionid = body.get("openid"), body.get("unionid")
        if not isinstance(openid, str) or not openid or not isinstance(unionid, str | None):
            raise WechatUnavailable("WeChat login answered without an openid")
        return WechatIdentity(openid=openid, unionid=unionid or None)

    def phone_number(self, code: str) -> str:
        token = self.access_token()
        body = self._phone_call(token, code)
        if body.get("errcode") in _TOKEN_REJECTED:
            body = self._phone_call(self._refresh_token(stale=token), code)
        phone_info = _check(body, "phone number").get("phone_info")
        phone = phone_info.get("purePhoneNumber") if isinstance(phone_info, dict) else None
        if not isinstance(phone, str) or not phone:
            raise WechatUnavailable("WeChat answered without a phone number")
        return phone

    def access_token(self) -> str:
        return self._cached_token() or self._refresh_token(stale=None)

    def post_with_token(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST to an API that takes the access token, refreshing it once if WeChat
        says it is invalid or expired (another process may have refreshed it). The
        answer is returned as WeChat gave it: its errcode is the caller's to read."""
        token = self.access_token()
        body = self._call("POST", path, params={"access_token": token}, json=payload)
        if body.get("errcode") in _TOKEN_REJECTED:
            token = self._refresh_token(stale=token)
            body = self._call("POST", path, params={"access_token": token}, json=payload)
        return body

    def _phone_call(self, token: str, code: str) -> dict[str, Any]:
        path = "/wxa/business/getuserphonenumber"
        return self._call("POST", path, params={"access_token": token}, json={"code": code})

    def _cached_token(self) -> str | None:
        value = self._cache.get(self._token_key)
        if isinstance(value, bytes):
            return value.decode()
        return value if isinstance(value, str) else None

    def _refresh_token(self, *, stale: str | None) -> str:
        """Fetch a token under a lock shared by all processes, so only one asks WeChat."""
        lock = self._cache.lock(
            f"{self._token_key}:lock",
            timeout=max(_LOCK_SECONDS, 2 * self._timeout),
            sleep=0.05,
            # Long enough for the holder's own request to time out.
            blocking_timeout=self._timeout + 1,
        )
        if not lock.acquire():
            raise WechatUnavailable("timed out waiting for the WeChat access token")
        try:
            cached = self._cached_token()
            if cached and cached != stale:
                return cached  # refreshed by whoever held the lock before us
            if cached:
                self._cache.delete(self._token_key)
            token, ttl = self._fetch_token(force=stale is not None)
            self._cache.set(self._token_key, token, ex=ttl)
            return token
        finally:
            # If it expired it may now be someone else's: theirs to release.
            with contextlib.suppress(LockError):
                lock.release()

    def _fetch_token(self, *, force: bool) -> tuple[str, int]:
        payload = {
            "grant_type": "client_credential",
            "appid": self._appid,
            "secret": self._secret,
            "force_refresh": force,
        }
        body = _check(self._call("POST", "/cgi-bin/stable_token", json=payload), "access token")
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise WechatUnavailable("WeChat answered without an access token")
        if expires_in <= 0:
            raise WechatUnavailable("WeChat answered with an expired access token")
        ttl = max(expires_in - _TOKEN_MARGIN_SECONDS, min(expires_in, _TOKEN_MIN_TTL_SECONDS))
        return token, ttl

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, f"{self._base_url}{path}", **kwargs)
        except httpx.HTTPError as error:
            # Not chained: the httpx error holds the request, whose query string holds the secret.
            raise WechatUnavailable(f"WeChat {path} failed: {type(error).__name__}") from None
        if not response.is_success:
            raise WechatUnavailable(f"WeChat {path} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise WechatUnavailable(f"WeChat {path} answered something other than a JSON object")
        return body


def _check(body: dict[str, Any], what: str) -> dict[str, Any]:
    """Raise the domain error for a WeChat errcode; errcode 0 (or none) means success."""
    errcode = body.get("errcode") or 0
    if errcode == 0:
        return body
    error, message = _ERRORS.get(errcode, (WechatUnavailable, f"WeChat {what} failed"))
    raise error(f"{message} (errcode {errcode})")


class FakeWechatClient:
    """Demo mode: the code is the openid (or the phone number); nothing leaves the process."""

    _OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
    _PHONE = re.compile(r"1[0-9]{10}")

    def login(self, code: str) -> WechatIdentity:
        if not self._OPENID.fullmatch(code):
            raise WechatCodeInvalid("in fake mode the code is the openid: 1–64 of A-Z a-z 0-9 _ -")
        return WechatIdentity(openid=code, unionid=None)

    def phone_number(self, code: str) -> str:
        if not self._PHONE.fullmatch(code):
            raise WechatCodeInvalid("in fake mode the code is an 11-digit mainland mobile number")
        return code

    def close(self) -> None:
        pass


def wechat_gateway(settings: Settings, cache: redis.Redis) -> WechatGateway:
    """The gateway the settings ask for."""
    if settings.wechat_mode is WechatMode.FAKE:
        return FakeWechatClient()
    return WechatClient(
        appid=settings.wechat_appid,
        secret=settings.wechat_secret,
        base_url=settings.wechat_base_url,
        timeout_seconds=settings.wechat_timeout_seconds,
        cache=cache,
        key_prefix=settings.redis_prefix,
    )
