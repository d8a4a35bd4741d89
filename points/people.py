"""Phone numbers as people write them, and as staff may see them."""

from __future__ import annotations

import re

from points.errors import InvalidInput

_SEPARATORS = re.compile(r"[\s\-()]")
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_phone(raw: str) -> str:
    """A mainland mobile number as 11 digits: spaces, dashes and a +86/0086 prefix go."""
    digits = _SEPARATORS.sub("", raw or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    if not _MAINLAND_MOBILE.match(digits):
        raise InvalidInput(
            "not a mainland mobile number", errors={"phone": ["must be 11 digits starting with 1"]}
        )
    return digits


def mask_phone(phone: str) -> str:
    """138****1234: enough for staff to tell people apart, not enough to call them."""
    return f"{phone[:3]}****{phone[-4:]}"
