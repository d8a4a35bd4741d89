"""WeChat's message push (消息推送) to our server: how we know a push is WeChat's.

Every push carries ``signature``, ``timestamp`` and ``nonce`` in its query string:
``signature`` is the SHA-1 of the token (configured on both sides), timestamp and nonce,
sorted and joined. In 安全模式 the body is ``{"ToUserName", "Encrypt"}`` and the query
adds ``encrypt_type=aes`` and ``msg_signature``, the SHA-1 of token, timestamp, nonce and
the ``Encrypt`` text, sorted and joined. ``Encrypt`` is base64 of AES-256-CBC with the
key base64-decoded from the 43-character EncodingAESKey (plus "="), the key's first 16
bytes as IV, PKCS#7 padding to 32-byte blocks, over: 16 random bytes, the message's
length (4 bytes, network order), the message, and the appid it was sent for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import struct
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from points.errors import Forbidden

_BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
_AES_KEY_CHARS = 43


class PushSignatureInvalid(Forbidden):
    code = "push_signature_invalid"


class PushPayloadInvalid(Forbidden):
    code = "push_payload_invalid"


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's


def check_signature(token: str, timestamp: str, nonce: str, signature: str) -> None:
    if not token or not hmac.compare_digest(sha1_signature(token, timestamp, nonce), signature):
        raise PushSignatureInvalid("this push is not signed by WeChat")


def check_msg_signature(token: str, timestamp: str, nonce: str, encrypted: str, given: str) -> None:
    expected = sha1_signature(token, timestamp, nonce, encrypted)
    if not token or not hmac.compare_digest(expected, given):
        raise PushSignatureInvalid("this encrypted push is not signed by WeChat")


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key of an EncodingAESKey; ValueError if it is not one."""
    if len(encoding_aes_key) != _AES_KEY_CHARS:
        raise ValueError("an EncodingAESKey has 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise ValueError("an EncodingAESKey is base64") from None
    if len(key) != 32:
        raise ValueError("an EncodingAESKey decodes to 32 bytes")
    return key


def decrypt(key: bytes, encrypted: str, appid: str) -> dict[str, Any]:
    """The JSON message inside ``Encrypt``, if it is well formed and for ``appid``."""
    try:
        data = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError):
        raise PushPayloadInvalid("Encrypt is not base64") from None
    if not data or len(data) % 16:
        raise PushPayloadInvalid("Encrypt is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise PushPayloadInvalid("Encrypt does not decrypt with our key")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise PushPayloadInvalid("Encrypt is too short")
    (length,) = struct.unpack(">I", plain[16:20])
    message, sent_for = plain[20 : 20 + length], plain[20 + length :]
    if len(message) != length or not hmac.compare_digest(sent_for, appid.encode()):
        raise PushPayloadInvalid("Encrypt was not sent for this mini-program")
    try:
        body = json.loads(message)
    except ValueError:
        raise PushPayloadInvalid("the decrypted push is not JSON") from None
    if not isinstance(body, dict):
        raise PushPayloadInvalid("the decrypted push is not a JSON object")
    return body
