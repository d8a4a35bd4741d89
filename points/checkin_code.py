"""Rotating check-in codes, shown by staff at the task's place.

A staff device shows a mini-program QR code whose ``scene`` carries the task id and
a six-digit code; a participant scans it, or types the digits. A code is an HMAC of
the task id and the current time step (TOTP-like), so the server keeps no state to
issue one, a code for one task says nothing about another, and a code read out over
the phone goes stale within a minute or two.

The key is not the app secret itself but one derived from it for this purpose only
(``derive_key``), so a leaked code key cannot sign tokens and vice versa. The caller
derives it once, from configuration, and passes the bytes in.

Codes come from the server's own clock (``GET /tasks/{id}/checkin-code``), so there is
no skew to allow for in the future; the previous step is accepted so that a code shown
just before a step boundary still works while the participant types it. A check-in
taken offline and sent later is judged at the time the phone says it was taken, with
one step of slack either way for the phone's clock (``verify_code_at``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from points.errors import Conflict, InvalidInput

STEP_SECONDS = 60
DIGITS = 6
SCENE_MAX_LENGTH = 32  # wxacode.getUnlimited's limit on ``scene``
MAX_TASK_ID = 2**63 - 1  # a BIGINT primary key; its scene is 27 characters at most

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KEY_PURPOSE = b"lianxin check-in codes"
# "t<task id>.<code>": only characters WeChat allows in a scene, no leading zeros so
# that one task id has exactly one spelling.
_SCENE = re.compile(r"t([1-9][0-9]{0,18})\.([0-9]{6})")  # 6 == DIGITS


class BadCheckinCode(Conflict):
    code = "bad_checkin_code"


@dataclass(frozen=True)
class CheckinCode:
    code: str  # six digits, for typing in by hand
    scene: str  # for the QR code; parse_scene reads it back
    step: int  # the time step the code belongs to
    refresh_at: datetime  # when the staff device should fetch the next code
    expires_at: datetime  # when this code stops being accepted


def derive_key(app_secret: str) -> bytes:
    """The per-purpose key for check-in codes, from the application's secret key."""
    return hmac.new(app_secret.encode(), _KEY_PURPOSE, hashlib.sha256).digest()


def _step_of(now: datetime, step_seconds: int) -> int:
    if now.tzinfo is None or now.utcoffset() is None:
        # A naive datetime would be read as local time and shift every step.
        raise ValueError("check-in codes need a timezone-aware datetime")
    return (now - _EPOCH) // timedelta(seconds=step_seconds)


def _check_task_id(task_id: int) -> None:
    if not 0 < task_id <= MAX_TASK_ID:
        raise ValueError(f"task id out of range: {task_id}")


def _code_for(secret: bytes, task_id: int, step: int) -> str:
    message = b"%d:%d" % (task_id, step)
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    # 64 bits reduced mod 10**6: the bias is below 10**-13, far beneath guessing odds.
    return str(int.from_bytes(digest[:8], "big") % 10**DIGITS).zfill(DIGITS)


def issue_code(
    secret: bytes, task_id: int, now: datetime, step_seconds: int = STEP_SECONDS
) -> CheckinCode:
    """The code to show now for ``task_id``; ``secret`` comes from ``derive_key``."""
    _check_task_id(task_id)
    step = _step_of(now, step_seconds)
    code = _code_for(secret, task_id, step)
    step_length = timedelta(seconds=step_seconds)
    return CheckinCode(
        code=code,
        scene=f"t{task_id}.{code}",
        step=step,
        refresh_at=_EPOCH + (step + 1) * step_length,
        # Accepted in its own step and the next one (verify_code's "previous step").
        expires_at=_EPOCH + (step + 2) * step_length,
    )


def verify_code(
    secret: bytes, task_id: int, code: str, now: datetime, step_seconds: int = STEP_SECONDS
) -> int:
    """The step ``code`` belongs to, if it is the current or previous code of this task.

    The caller stores the step on the participation and refuses it a second time
    (``check_not_replayed``): a code is accepted once per participation.
    """
    current = _step_of(now, step_seconds)
    return _matching_step(secret, task_id, code, range(current - 1, current + 1))


def verify_code_at(
    secret: bytes,
    task_id: int,
    code: str,
    taken_at: datetime,
    now: datetime,
    step_seconds: int = STEP_SECONDS,
    tolerance_steps: int = 1,
) -> int:
    """The step ``code`` belongs to, if it was valid when an offline check-in says it was
    taken: the code of that step or the one before (as ``verify_code`` now), widened by
    ``tolerance_steps`` either way for the phone's clock, which may be off by that much.
    A step the server has not reached yet was never shown, so none is accepted."""
    claimed = _step_of(taken_at, step_seconds)
    latest = min(claimed + tolerance_steps, _step_of(now, step_seconds))
    return _matching_step(secret, task_id, code, range(claimed - 1 - tolerance_steps, latest + 1))


def _matching_step(secret: bytes, task_id: int, code: str, steps: range) -> int:
    _check_task_id(task_id)
    if not (len(code) == DIGITS and code.isascii() and code.isdigit()):
        raise BadCheckinCode("a check-in code is six digits")
    matched = None
    # Compare with every candidate, in constant time, so timing tells nothing.
    for step in steps:
        if hmac.compare_digest(_code_for(secret, task_id, step), code):
            matched = step
    if matched is None:
        raise BadCheckinCode("wrong or expired check-in code; scan the current one")
    return matched


def check_not_replayed(step: int, last_used_step: int | None) -> None:
    """Refuse a code from a step this participation has already used (or an older one)."""
    if last_used_step is not None and step <= last_used_step:
        raise BadCheckinCode("this check-in code has already been used")


def parse_scene(scene: str) -> tuple[int, str]:
    """Task id and code from a QR ``scene``; junk is ``InvalidInput`` on field ``code``
    (the check-in request's field that carries the scanned scene)."""
    match = _SCENE.fullmatch(scene) if len(scene) <= SCENE_MAX_LENGTH else None
    if match is None or int(match[1]) > MAX_TASK_ID:
        raise InvalidInput("not a check-in code", errors={"code": ["not a Lianxin check-in QR"]})
    return int(match[1]), match[2]
