"""内容安全 calls: wxa/msg_sec_check (version 2, synchronous, for text) and
wxa/media_check_async (version 2, for photos; the verdict comes later by message push,
see push.py). ``FakeContentSecurity`` is the demo's: it passes everything but a test
word and a marked photo, so refusals can be shown without WeChat.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from points.content import Scene, Verdict, verdict_of
from service.config import Settings, WechatMode
from service.wechat.client import WechatClient, WechatUnavailable

TEXT_CHECK = "/wxa/msg_sec_check"
MEDIA_CHECK = "/wxa/media_check_async"
_IMAGE = 2  # media_type: 1 audio, 2 image
# The openid is not one WeChat will judge for: unknown to this appid (40003) or not
# seen in the mini-program in the last two hours (61010).
_AUTHOR_UNKNOWN = frozenset({40003, 61010})


@dataclass(frozen=True)
class TextCheck:
    verdict: Verdict
    label: int | None = None  # WeChat's label: 100 normal, 10001 ads, 20001 politics, …
    reason: str = ""  # why it is held when WeChat did not judge it


@dataclass(frozen=True)
class PhotoCheck:
    trace_id: str
    # Known at once only in fake mode; from WeChat it arrives at /api/v1/wechat/events.
    verdict: Verdict | None = None


class ContentSecurity(Protocol):
    def check_text(self, content: str, openid: str | None, scene: Scene) -> TextCheck: ...

    def check_photo(
        self, media_url: str, openid: str | None, scene: Scene, *, width: int, height: int
    ) -> PhotoCheck: ...


class WechatContentSecurity:
    def __init__(self, client: WechatClient) -> None:
        self._client = client

    def check_text(self, content: str, openid: str | None, scene: Scene) -> TextCheck:
        if not openid:  # a console account: v2 judges text only as a WeChat user's
            return TextCheck(Verdict.REVIEW, reason="no_openid")
        payload = {"content": content, "version": 2, "scene": int(scene), "openid": openid}
        body = self._client.post_with_token(TEXT_CHECK, payload)
        errcode = body.get("errcode") or 0
        if errcode in _AUTHOR_UNKNOWN:
            return TextCheck(Verdict.REVIEW, reason="author_unknown")
        if errcode != 0:
            raise WechatUnavailable(f"WeChat text check failed (errcode {errcode})")
        result = body.get("result")
        result = result if isinstance(result, dict) else {}
        return TextCheck(verdict_of(result.get("suggest")), _label(result.get("label")))

    def check_photo(
        self, media_url: str, openid: str | None, scene: Scene, *, width: int, height: int
    ) -> PhotoCheck:
        if not openid:  # as for text: held for a person, under a trace of our own
            return PhotoCheck(f"unchecked-{uuid.uuid4().hex}", Verdict.REVIEW)
        payload = {
            "media_url": media_url,
            "media_type": _IMAGE,
            "version": 2,
            "scene": int(scene),
            "openid": openid,
        }
        body = self._client.post_with_token(MEDIA_CHECK, payload)
        errcode = body.get("errcode") or 0
        trace_id = body.get("trace_id")
        if errcode != 0 or not isinstance(trace_id, str) or not trace_id:
            raise WechatUnavailable(f"WeChat photo check failed (errcode {errcode})")
        return PhotoCheck(trace_id)


def _label(value: Any) -> int | None:
    # WeChat documents the label as a string and sends a number; either is taken.
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class FakeContentSecurity:
    """Demo mode: text holding ``risky_word`` is risky and text holding ``review_word``
    goes to staff; a photo of exactly ``risky_photo_size`` pixels is risky (photos are
    re-encoded on upload, so a marker can't hide in their bytes). All else passes, with
    or without an openid: demo people need not have signed in through WeChat."""

    def __init__(self, risky_word: str, review_word: str, risky_photo_size: str) -> None:
        self._risky_word = risky_word
        self._review_word = review_word
        self._risky_photo_size = risky_photo_size

    def check_text(self, content: str, openid: str | None, scene: Scene) -> TextCheck:
        if self._risky_word and self._risky_word in content:
            return TextCheck(Verdict.RISKY, label=20001)
        if self._review_word and self._review_word in content:
            return TextCheck(Verdict.REVIEW, label=20001)
        return TextCheck(Verdict.PASS, label=100)

    def check_photo(
        self, media_url: str, openid: str | None, scene: Scene, *, width: int, height: int
    ) -> PhotoCheck:
        risky = f"{width}x{height}" == self._risky_photo_size
        return PhotoCheck(f"fake-{uuid.uuid4().hex}", Verdict.RISKY if risky else Verdict.PASS)


def content_security(settings: Settings, gateway: object) -> ContentSecurity:
    """The checks the settings ask for: WeChat's through the live client (sharing its
    cached stable_token), or the demo's."""
    if settings.wechat_mode is WechatMode.FAKE:
        return FakeContentSecurity(
            settings.content_risky_word,
            settings.content_review_word,
            settings.content_risky_photo_size,
        )
    if not isinstance(gateway, WechatClient):
        raise TypeError("live content checks need the live WeChat client")
    return WechatContentSecurity(gateway)
