"""Redemption (兑换) at a station, as pure rules: its states, pickup codes, the signed
QR payload and the windows a per-member limit counts in.

A redemption is a hold: the points are reserved (a pending transfer) and the goods
set aside until a clerk hands them over (``fulfilled``), the redeemer cancels, or
the hold expires unclaimed. Each of those happens once, by the table below.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from points.calendar import local_date, local_midnight, month_start, week_start, year_start
from points.errors import Conflict, InvalidInput, NotFound
from points.lifecycle import transition


class RedemptionStatus(StrEnum):
    HELD = "held"  # points reserved, goods set aside, waiting for pickup
    FULFILLED = "fulfilled"  # handed over by a clerk; the points are spent
    CANCELLED = "cancelled"  # by the redeemer before pickup; points and stock back
    EXPIRED = "expired"  # not picked up in time; points and stock back


class RedemptionAction(StrEnum):
    PICK_UP = "pick_up"
    CANCEL = "cancel"
    EXPIRE = "expire"


REDEMPTION_TRANSITIONS: MappingProxyType[
    tuple[RedemptionStatus, RedemptionAction], RedemptionStatus
] = MappingProxyType(
    {
        (RedemptionStatus.HELD, RedemptionAction.PICK_UP): RedemptionStatus.FULFILLED,
        (RedemptionStatus.HELD, RedemptionAction.CANCEL): RedemptionStatus.CANCELLED,
        (RedemptionStatus.HELD, RedemptionAction.EXPIRE): RedemptionStatus.EXPIRED,
    }
)


def redemption_transition(current: RedemptionStatus, action: RedemptionAction) -> RedemptionStatus:
    return transition(REDEMPTION_TRANSITIONS, current, action)


class ItemAudience(StrEnum):
    """Who may redeem an item: anyone signed in who serves or lives here, or party
    members only (党员专享)."""

    EVERYONE = "everyone"
    MEMBERS = "members"


class LimitPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class OutOfStock(Conflict):
    code = "out_of_stock"


class LimitReached(Conflict):
    code = "limit_reached"


class ItemInactive(Conflict):
    code = "item_inactive"


class TooManyOpenHolds(Conflict):
    code = "too_many_open_holds"


class RedemptionExpired(Conflict):
    code = "redemption_expired"


class AlreadyPickedUp(Conflict):
    """The code was valid once, but its redemption is no longer waiting for pickup."""

    code = "pickup_code_used"


def period_start(now: datetime, period: LimitPeriod) -> datetime:
    """When the limit window containing ``now`` began (calendar day, ISO week from
    Monday, calendar month or year, in local time), as an aware datetime."""
    if now.tzinfo is None:
        raise ValueError("limit windows need a timezone-aware datetime")
    day = local_date(now)
    match period:
        case LimitPeriod.DAY:
            first = day
        case LimitPeriod.WEEK:
            first = week_start(day)
        case LimitPeriod.MONTH:
            first = month_start(day)
        case LimitPeriod.YEAR:
            first = year_start(day)
    return local_midnight(first)


def check_limit(already: int, quantity: int, limit: int | None, period: LimitPeriod) -> None:
    """``already`` counts this member's held and fulfilled units in the current window."""
    if limit is not None and already + quantity > limit:
        left = max(0, limit - already)
        raise LimitReached(
            f"at most {limit} per {period.value} for each person; {left} left this {period.value}"
        )


def check_open_holds(open_holds: int, maximum: int) -> None:
    """``open_holds`` includes the new one: goods set aside must not pile up unclaimed."""
    if open_holds > maximum:
        raise TooManyOpenHolds(
            f"you already have {maximum} redemptions waiting for pickup; collect or cancel one"
        )


# Pickup codes are read aloud and typed by a clerk: digits only, and no 0 or 1, which
# handwriting and some fonts confuse with O, I and l. Six of eight digits give 262,144
# codes per station, against at most a few hundred open holds at a time.
PICKUP_ALPHABET = "23456789"
PICKUP_CODE_LENGTH = 6
_PICKUP_CODE = re.compile(f"[{PICKUP_ALPHABET}]{{{PICKUP_CODE_LENGTH}}}")


def new_pickup_code(choose: Callable[[str], str] = secrets.choice) -> str:
    return "".join(choose(PICKUP_ALPHABET) for _ in range(PICKUP_CODE_LENGTH))


def normalise_pickup_code(raw: str) -> str:
    """What the clerk typed, without the spaces or dashes of "234 567" or "234-567"."""
    code = re.sub(r"[\s-]", "", raw)
    if not _PICKUP_CODE.fullmatch(code):
        raise InvalidInput(
            "not a pickup code",
            errors={"pickup_code": [f"{PICKUP_CODE_LENGTH} digits from {PICKUP_ALPHABET}"]},
        )
    return code


# The QR shown on the member's phone: "lxr.<redemption id>.<station id>.<code>.<mac>".
# It is signed, so a forged QR can't name a redemption; the clerk scans instead of typing.
_KEY_PURPOSE = b"lianxin redemption pickup"
_QR = re.compile(r"lxr\.([1-9][0-9]{0,18})\.([1-9][0-9]{0,18})\.([0-9]{6})\.([0-9a-f]{20})")


def derive_qr_key(app_secret: str) -> bytes:
    return hmac.new(app_secret.encode(), _KEY_PURPOSE, hashlib.sha256).digest()


def _mac(key: bytes, redemption_id: int, station_id: int, code: str) -> str:
    message = f"{redemption_id}.{station_id}.{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def sign_qr_payload(key: bytes, redemption_id: int, station_id: int, code: str) -> str:
    return f"lxr.{redemption_id}.{station_id}.{code}.{_mac(key, redemption_id, station_id, code)}"


def read_qr_payload(key: bytes, payload: str) -> tuple[int, int, str]:
    """Redemption id, station id and pickup code from a scanned QR. A payload that is
    malformed or not ours is ``NotFound``: to the clerk it names no redemption."""
    match = _QR.fullmatch(payload.strip()) if len(payload) <= 80 else None
    if match is None:
        raise NotFound("no redemption for this QR code")
    redemption_id, station_id, code = int(match[1]), int(match[2]), match[3]
    if not hmac.compare_digest(_mac(key, redemption_id, station_id, code), match[4]):
        raise NotFound("no redemption for this QR code")
    return redemption_id, station_id, code
