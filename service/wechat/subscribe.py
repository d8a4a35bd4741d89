"""Sending subscribe messages (订阅消息, ``cgi-bin/message/subscribe/send``) and telling
apart what WeChat's answer means for the message: sent, refused by the member, a bad
field, WeChat busy, or not known.

Kept apart from client.py (sign-in, phone numbers) so each WeChat capability is its
own module; it borrows the client's HTTP pool and its access token, cached in Redis
and shared by every process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import httpx

from service.wechat.client import WechatClient, WechatUnavailable

log = logging.getLogger(__name__)

SEND_PATH = "/cgi-bin/message/subscribe/send"
_TOKEN_REJECTED = frozenset({40001, 42001})


class Outcome(StrEnum):
    SENT = "sent"
    REFUSED = "refused"  # 43101: the member refused (or their allowance is used up)
    BAD_FIELD = "bad_field"  # 47003: a value WeChat won't take; sending again won't help
    BUSY = "busy"  # -1 system busy, 45009 daily limit, HTTP trouble before it arrived
    UNKNOWN = "unknown"  # the request may have arrived (a read timeout): don't resend
    FAILED = "failed"  # any other errcode (a bad template id, openid): an operator's job


@dataclass(frozen=True, slots=True)
class SubscribeMessage:
    openid: str
    template_id: str
    page: str
    data: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    detail: str = ""


_BY_ERRCODE = {
    0: Outcome.SENT,
    43101: Outcome.REFUSED,
    47003: Outcome.BAD_FIELD,
    -1: Outcome.BUSY,
    45009: Outcome.BUSY,
}


class SubscribeSender(Protocol):
    def send(self, message: SubscribeMessage) -> SendResult: ...


class WechatSubscribeSender:
    """Sends through WeChat (or the stub at the configured base URL)."""

    def __init__(self, client: WechatClient, miniprogram_state: str = "formal") -> None:
        self._client = client
        self._state = miniprogram_state

    def send(self, message: SubscribeMessage) -> SendResult:
        body: dict[str, Any] = {
            "touser": message.openid,
            "template_id": message.template_id,
            "page": message.page,
            "data": {key: {"value": value} for key, value in message.data.items()},
            "miniprogram_state": self._state,
            "lang": "zh_CN",
        }
        try:
            token = self._client.access_token()
            answer = self._post(token, body)
            if isinstance(answer, dict) and answer.get("errcode") in _TOKEN_REJECTED:
                # Expired or replaced by another process: refresh once, like sign-in does.
                answer = self._post(self._client._refresh_token(stale=token), body)
        except WechatUnavailable as error:
            return SendResult(Outcome.BUSY, str(error))
        if isinstance(answer, SendResult):
            return answer
        errcode = answer.get("errcode") or 0
        outcome = _BY_ERRCODE.get(errcode, Outcome.FAILED)
        if errcode in _TOKEN_REJECTED:
            outcome = Outcome.BUSY  # still rejected after a refresh: try later
        return SendResult(outcome, f"errcode {errcode}: {answer.get('errmsg', '')}"[:500])

    def _post(self, token: str, body: dict[str, Any]) -> dict[str, Any] | SendResult:
        url = f"{self._client._base_url}{SEND_PATH}"
        try:
            response = self._client._http.post(url, params={"access_token": token}, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            return SendResult(Outcome.BUSY, type(error).__name__)  # it never left
        except httpx.HTTPError as error:
            # Sent, and no answer: WeChat may have delivered it.
            return SendResult(Outcome.UNKNOWN, type(error).__name__)
        if not response.is_success:
            return SendResult(Outcome.BUSY, f"HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            return SendResult(Outcome.UNKNOWN, "an answer that is not a JSON object")
        return answer


class FakeSubscribeSender:
    """Demo mode: every message counts as sent, and only the log hears of it."""

    def send(self, message: SubscribeMessage) -> SendResult:
        log.info("fake WeChat: subscribe message %s to %s", message.template_id, message.openid)
        return SendResult(Outcome.SENT)


def subscribe_sender(gateway: object) -> SubscribeSender:
    """The sender for the app's WeChat gateway: live (or the stub) or the demo's fake."""
    if isinstance(gateway, WechatClient):
        return WechatSubscribeSender(gateway)
    return FakeSubscribeSender()
