"""志愿服务证明: certificate numbers, what a certificate shows of its holder, and the
errors issuing one may raise (民政部令第67号, 志愿服务记录与证明出具办法)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from enum import StrEnum

from points.errors import InvalidInput

# Crockford's base 32: no I, L, O or U, so a number read out over the phone or typed
# from paper can't be mistaken (0/O, 1/I/L) and spells no words.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_GROUPS = 3
_GROUP_LENGTH = 4  # 3 × 4 characters × 5 bits: 60 random bits, not worth guessing
NUMBER_PATTERN = re.compile(rf"LX\d{{4}}(?:-[{ALPHABET}]{{{_GROUP_LENGTH}}}){{{_GROUPS}}}")
NUMBER_MAX_LENGTH = 6 + _GROUPS * (_GROUP_LENGTH + 1)
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})


class CertificateStatus(StrEnum):
    VALID = "valid"
    # A service it lists was reversed after issue: the certificate no longer says
    # what the records say, and a new one should be issued for the period.
    SUPERSEDED = "superseded"


class NoServiceRecords(InvalidInput):
    """Nothing to certify: no approved service in the period."""

    code = "no_service_records"


def new_number(year: int, choose: Callable[[str], str] = secrets.choice) -> str:
    """A fresh certificate number such as ``LX2026-7K4M-9QXD-2HFA``: the year it was
    issued, then random groups, so numbers are readable and not enumerable."""
    groups = ("".join(choose(ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS))
    return f"LX{year:04d}-" + "-".join(groups)


def normalise_number(raw: str) -> str | None:
    """The number as issued, from how someone typed it (any case, O for 0, I or L for
    1); None if it can't be one of ours."""
    typed = raw.strip().upper()
    if len(typed) > NUMBER_MAX_LENGTH or not typed.startswith("LX"):
        return None
    number = "LX" + typed[2:].translate(_MISREAD)
    return number if NUMBER_PATTERN.fullmatch(number) else None


def verify_link(base_url: str, number: str) -> str:
    """Where a certificate is verified: printed on it, and in its QR code."""
    return f"{base_url.rstrip('/')}/api/v1/certificates/{number}/verify"


def mask_name(name: str) -> str:
    """What a certificate's verification shows of its holder's name: the first
    character, the rest starred (张**)."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else "*"
