"""WeChat's message push to /api/v1/wechat/events: checked to be WeChat's (push.py),
opened if encrypted, and the photo verdicts in it applied."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from points.content import Verdict, verdict_of
from points.errors import Conflict
from service.moderation.photos import apply_photo_verdict
from service.unit_of_work import UnitOfWork
from service.wechat.push import (
    PushPayloadInvalid,
    aes_key,
    check_msg_signature,
    check_signature,
    decrypt,
)

log = logging.getLogger(__name__)

MEDIA_CHECK_EVENT = "wxa_media_check"


@dataclass(frozen=True)
class PushConfig:
    token: str
    encoding_aes_key: str  # empty: plain pushes only
    appid: str


def answer_handshake(config: PushConfig, query: Mapping[str, str]) -> str:
    """The GET WeChat sends when the push URL is saved: echo ``echostr`` if signed."""
    check_signature(
        config.token, query.get("timestamp", ""), query.get("nonce", ""), query.get("signature", "")
    )
    return query.get("echostr", "")


def open_push(config: PushConfig, query: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The push's message, once it is known to be WeChat's; PushSignatureInvalid or
    PushPayloadInvalid (403) otherwise."""
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    check_signature(config.token, timestamp, nonce, query.get("signature", ""))
    message = _json_object(body)
    if query.get("encrypt_type", "raw") != "aes":
        return message
    encrypted = message.get("Encrypt")
    if not isinstance(encrypted, str) or not config.encoding_aes_key:
        raise PushPayloadInvalid("an encrypted push needs Encrypt and our EncodingAESKey")
    check_msg_signature(config.token, timestamp, nonce, encrypted, query.get("msg_signature", ""))
    return decrypt(aes_key(config.encoding_aes_key), encrypted, config.appid)


def handle_push(
    uow: UnitOfWork, config: PushConfig, query: Mapping[str, str], body: bytes, now: datetime
) -> None:
    message = open_push(config, query, body)
    if message.get("Event") != MEDIA_CHECK_EVENT:
        return  # other events are other features' (none yet): acknowledged, not kept
    trace_id = message.get("trace_id")
    if not isinstance(trace_id, str) or not trace_id:
        raise PushPayloadInvalid("a media check push without a trace_id")
    result = message.get("result")
    result = result if isinstance(result, dict) else {}
    # WeChat could not check it (errcode set, no result): a person decides.
    verdict = Verdict.REVIEW if message.get("errcode") else verdict_of(result.get("suggest"))
    label = str(result.get("label", ""))  # documented a string, sent a number
    with uow:
        found = apply_photo_verdict(
            uow.session, trace_id, verdict, int(label) if label.isdigit() else None, now
        )
        if not found:
            # WeChat may answer before we stored the trace_id it gave us (its push races
            # our commit): refused, WeChat pushes again, and the verdict is not lost.
            log.warning("media check verdict for a trace_id not stored (yet): %s", trace_id)
            raise UnknownTrace("no photo check with this trace_id yet; push it again")
        uow.commit()


class UnknownTrace(Conflict):
    code = "unknown_trace"


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body or b"{}")
    except ValueError:
        raise PushPayloadInvalid("the push is not JSON (set the data format to JSON)") from None
    if not isinstance(message, dict):
        raise PushPayloadInvalid("the push is not a JSON object")
    return message
