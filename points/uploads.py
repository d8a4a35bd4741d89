"""Photos handed in as evidence of work: what is accepted, and the signed links that
show them.

A mini-program's ``<image>`` cannot send an ``Authorization`` header, so a photo is
shown through a link that carries its own short-lived signature, the way object
storage hands out presigned URLs. Only people who may see the photo are given a
link, and a link stops working after ``LINK_LIFETIME``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from points.errors import InvalidInput, NotFound

# What wx.chooseMedia hands over, by what the bytes are, never by the file name.
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000  # a 48-megapixel phone photo is 8000×6000; larger is a bomb
MAX_PHOTOS_PER_SUBMISSION = 9  # wx.chooseMedia picks at most nine
LINK_LIFETIME = timedelta(hours=1)
# A photo sent but not yet handed in with work waits this long (the person may still be
# filling in the form); then it can no longer be named, and `lianxin uploads prune`
# deletes it. Photos of people's homes are not kept for nothing.
UNATTACHED_KEPT = timedelta(days=7)

_KEY_PURPOSE = b"lianxin photo links"


class NotAnImage(InvalidInput):
    code = "not_an_image"


class BadPhotoLink(NotFound):
    """A forged, altered or expired link looks like no photo at all."""

    code = "not_found"


def derive_key(app_secret: str) -> bytes:
    """The per-purpose key for photo links, so that it can sign nothing else."""
    return hmac.new(app_secret.encode(), _KEY_PURPOSE, hashlib.sha256).digest()


def _signature(key: bytes, upload_id: int, expires: int) -> str:
    message = f"{upload_id}.{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def sign_link(key: bytes, upload_id: int, now: datetime) -> tuple[int, str]:
    """(expires, signature) for a link to one photo; ``expires`` is a Unix time."""
    expires = int((now + LINK_LIFETIME).timestamp())
    return expires, _signature(key, upload_id, expires)


def check_link(key: bytes, upload_id: int, expires: int, signature: str, now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("photo links need a timezone-aware datetime")
    expected = _signature(key, upload_id, expires).encode()
    # Bytes, not str: compare_digest refuses non-ASCII text, and a link is anyone's input.
    given = signature.encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(expected, given) or datetime.fromtimestamp(expires, UTC) < now:
        raise BadPhotoLink("photo not found")
