"""Message push (消息推送): the signatures and 安全模式 decryption, against the stub's own
encryption (tests/wechat_stub.py writes WeChat's side out separately)."""

from __future__ import annotations

import base64
import json

import pytest

from points.content import ContentRisky, ReviewStatus, Verdict, refuse_risky, status_for, verdict_of
from service.config import ConfigError, Settings
from service.wechat.push import (
    PushPayloadInvalid,
    PushSignatureInvalid,
    aes_key,
    check_msg_signature,
    check_signature,
    decrypt,
    sha1_signature,
)
from tests.wechat_stub import STUB_AES_KEY, STUB_APPID, _encrypt

KEY = aes_key(STUB_AES_KEY)


def test_a_push_encrypted_as_wechat_does_decrypts_to_its_message() -> None:
    message = {"Event": "wxa_media_check", "trace_id": "t-1", "note": "连心" * 40}
    sealed = _encrypt(STUB_AES_KEY, json.dumps(message).encode(), STUB_APPID)
    assert decrypt(KEY, sealed, STUB_APPID) == message


@pytest.mark.parametrize(
    "sealed",
    [
        pytest.param("not base64!", id="not-base64"),
        pytest.param(base64.b64encode(b"x" * 15).decode(), id="not-blocks"),
        pytest.param(base64.b64encode(bytes(32)).decode(), id="bad-padding"),
        pytest.param(_encrypt(STUB_AES_KEY, b"{}", "wx-someone-else"), id="other-appid"),
        pytest.param(_encrypt(STUB_AES_KEY, b"[1]", STUB_APPID), id="not-an-object"),
        pytest.param(_encrypt("C" * 43, b"{}", STUB_APPID), id="other-key"),
    ],
)
def test_what_does_not_decrypt_to_our_message_is_refused(sealed: str) -> None:
    with pytest.raises(PushPayloadInvalid):
        decrypt(KEY, sealed, STUB_APPID)


def test_signatures_are_over_the_sorted_parts() -> None:
    signature = sha1_signature("token", "1700000000", "nonce")
    check_signature("token", "1700000000", "nonce", signature)
    with pytest.raises(PushSignatureInvalid):
        check_signature("token", "1700000001", "nonce", signature)
    with pytest.raises(PushSignatureInvalid):
        check_signature("", "1700000000", "nonce", sha1_signature("", "1700000000", "nonce"))
    signed = sha1_signature("token", "1", "n", "ENC")
    check_msg_signature("token", "1", "n", "ENC", signed)
    with pytest.raises(PushSignatureInvalid):
        check_msg_signature("token", "1", "n", "ENC2", signed)


def test_an_encoding_aes_key_is_43_characters_of_base64() -> None:
    with pytest.raises(ValueError, match="43"):
        aes_key("short")
    Settings(wechat_push_aes_key=STUB_AES_KEY).validate()
    with pytest.raises(ConfigError, match="LIANXIN_WECHAT_PUSH_AES_KEY"):
        Settings(wechat_push_aes_key="!" * 43).validate()


def test_a_verdict_we_do_not_know_is_a_persons_to_judge() -> None:
    assert [verdict_of(s) for s in ("pass", "review", "risky", "maybe", None)] == [
        Verdict.PASS,
        Verdict.REVIEW,
        Verdict.RISKY,
        Verdict.REVIEW,
        Verdict.REVIEW,
    ]
    assert status_for(Verdict.RISKY) is ReviewStatus.QUARANTINED
    refuse_risky(Verdict.REVIEW, "note")
    with pytest.raises(ContentRisky):
        refuse_risky(Verdict.RISKY, "note")
