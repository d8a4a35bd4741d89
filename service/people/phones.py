"""Phone numbers at rest: encrypted, found by a keyed hash, shown masked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from points.people import mask_phone, normalise_phone

_NONCE_BYTES = 12
_ASSOCIATED_DATA = b"lianxin phone"


@dataclass(frozen=True)
class SealedPhone:
    ciphertext: str
    lookup_hash: str
    masked: str


def _derive(key_material: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=purpose).derive(
        key_material.encode()
    )


class PhoneVault:
    def __init__(self, key_material: str) -> None:
        self._cipher = AESGCM(_derive(key_material, b"lianxin phone encryption"))
        self._lookup_key = _derive(key_material, b"lianxin phone lookup")

    def lookup_hash(self, raw_phone: str) -> str:
        phone = normalise_phone(raw_phone)
        return hmac.new(self._lookup_key, phone.encode(), hashlib.sha256).hexdigest()

    def seal(self, raw_phone: str) -> SealedPhone:
        phone = normalise_phone(raw_phone)
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, phone.encode(), _ASSOCIATED_DATA)
        return SealedPhone(
            ciphertext=base64.b64encode(nonce + sealed).decode(),
            lookup_hash=self.lookup_hash(phone),
            masked=mask_phone(phone),
        )

    def open(self, ciphertext: str) -> str:
        blob = base64.b64decode(ciphertext)
        return self._cipher.decrypt(
            blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _ASSOCIATED_DATA
        ).decode()
