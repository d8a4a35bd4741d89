"""Showing up and leaving: check-in (签到) and check-out (签退).

Check-in uses the server's clock and window, the task's fence and/or a rotating
code shown by staff. A refused attempt is counted and, when suspicious, flagged for
the approver; nothing is silently dropped. Only the measured distance and accuracy
are kept, never where the person was.

One taken without signal (离线签到) comes later with the phone's stated time
(``Offline``) and an Idempotency-Key: it is judged as of that time (points/offline.py),
flagged ``offline``, and a resend with the key gets the first answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from points.access import Actor
from points.checkin_code import (
    BadCheckinCode,
    CheckinCode,
    check_not_replayed,
    derive_key,
    issue_code,
    verify_code,
    verify_code_at,
)
from points.errors import Conflict, InvalidInput, NotFound
from points.geo import (
    ACCURACY_CAP_M,
    OutsideGeofence,
    check_geofence,
    haversine_m,
    impossible_travel,
)
from points.lifecycle import transition
from points.offline import OFFLINE_LIMIT, check_device_time, check_out_after_check_in
from points.tasks import (
    PARTICIPATION_TRANSITIONS,
    CheckinMode,
    Flag,
    OutsideWindow,
    ParticipationAction,
    ParticipationStatus,
    TaskStatus,
    check_in_window,
    hours_worked,
)
from service.auth.current import confirm_account, confirm_caller
from service.auth.tokens import AccessClaims
from service.db import commit_each_statement
from service.idempotency.store import (
    IdempotentRequest,
    StoredResponse,
    claim_key,
    store_answer,
)
from service.people.models import USER_TABLE
from service.tasks.board import staff_task
from service.tasks.models import PARTICIPATION_TABLE, TASK_TABLE, Participation
from service.tasks.signups import (
    NotOpen,
    move_participation,
    move_participation_by_id,
    own_participation_and_task,
)
from service.unit_of_work import UnitOfWork

REPEATED_FAILURES_AT = 3


# A row of _CHECKIN: the participation's columns, then its task's, account's and the
# previous check-in's, by label.
_Found = Row[*tuple[Any, ...]]


class AlreadyCheckedIn(Conflict):
    code = "already_checked_in"


@dataclass(frozen=True)
class Position:
    lat: float | None = None
    lng: float | None = None
    accuracy_m: float | None = None


@dataclass(frozen=True)
class Offline:
    """An attempt taken without signal: when the phone says it was taken, and how long
    after that it may still arrive."""

    taken_at: datetime
    limit: timedelta = OFFLINE_LIMIT


def checkin_code_for(
    session: Session, actor: Actor, task_id: int, secret_key: str, now: datetime
) -> CheckinCode:
    """The code (and QR scene) a staff device shows now; it changes every minute."""
    task = staff_task(session, actor, task_id, now)
    return issue_code(derive_key(secret_key), task.id, now)


def check_in(
    uow: UnitOfWork,
    caller: AccessClaims,
    participation_id: int,
    position: Position,
    code: str | None,
    secret_key: str,
    now: datetime,
    offline: Offline | None = None,
) -> dict[str, Any]:
    """Check the caller in; gives back their participation as stored afterwards."""
    with uow:
        # Its one write is a conditional UPDATE that re-checks the status it read.
        commit_each_statement(uow.session)
        participation = _check_in(
            uow, caller, participation_id, position, code, secret_key, now, offline, keyed=False
        )
        uow.commit()
        return participation


def check_in_once(
    uow: UnitOfWork,
    key: IdempotentRequest,
    render: Callable[[dict[str, Any]], StoredResponse],
    caller: AccessClaims,
    participation_id: int,
    position: Position,
    code: str | None,
    secret_key: str,
    now: datetime,
    offline: Offline | None = None,
) -> StoredResponse:
    """``check_in`` under an Idempotency-Key: the first answer is stored with the
    check-in, in its transaction, and a resend gets it back. A refusal spends no key
    (as everywhere keys are taken): a resend is judged afresh."""
    with uow:
        claimed = claim_key(uow.session, key)
        if isinstance(claimed, StoredResponse):
            confirm_caller(uow.session, caller)  # a closed account hears nothing again
            return claimed
        response = render(
            _check_in(
                uow, caller, participation_id, position, code, secret_key, now, offline, keyed=True
            )
        )
        store_answer(uow.session, claimed, response)
        uow.commit()
        return response


def _check_in(
    uow: UnitOfWork,
    caller: AccessClaims,
    participation_id: int,
    position: Position,
    code: str | None,
    secret_key: str,
    now: datetime,
    offline: Offline | None,
    *,
    keyed: bool,
) -> dict[str, Any]:
    session = uow.session
    found = read_for_checkin(session, participation_id, caller.user_id)
    if found is None:
        confirm_caller(session, caller)  # a refused token is 401, not 404
        raise NotFound("participation not found")
    # The caller's account came with their participation: confirmed here, not by a
    # query of its own before the request (api/authentication.py).
    confirm_account(caller, found.account_active, found.account_token_version)
    participation = participation_of(found)
    current = ParticipationStatus(found.status)
    if current is ParticipationStatus.CHECKED_IN:
        raise AlreadyCheckedIn("you are already checked in")
    # Only an attempt taken offline reaches back before the no-show sweep; its window
    # is judged as of when it was taken, below.
    late = current is ParticipationStatus.NO_SHOW and offline is not None
    if late and found.task_status == TaskStatus.CANCELLED.value:
        # Called off after it ended: there is no work of it left to approve.
        raise NotOpen("the task was cancelled")
    action = ParticipationAction.LATE_CHECK_IN if late else ParticipationAction.CHECK_IN
    target = transition(PARTICIPATION_TRANSITIONS, current, action)
    mode = CheckinMode(found.task_checkin_mode)
    _require_inputs(mode, position, code)
    # Judged as of when it was taken: the phone's stated time once it is believable.
    at = now
    if offline is not None:
        check_device_time(offline.taken_at, now, found.signed_up_at, offline.limit)
        at = offline.taken_at
    try:
        check_in_window(at, found.task_starts_at, found.task_ends_at)
        distance = _distance(found, position) if mode.needs_location else None
        step = _code_step(found, code or "", secret_key, now, offline) if mode.needs_code else None
        if step is not None:
            check_not_replayed(step, found.code_step)
    except (OutsideWindow, OutsideGeofence, BadCheckinCode) as refused:
        if keyed:
            session.rollback()  # the key's claim goes with the refusal; the count stays
        _count_failure(session, found, refused)
        uow.commit()  # the failed attempt is kept for the approver, then refused
        raise
    flags = set(found.flags or [])
    if _travelled_impossibly(found, at):
        flags.add(Flag.IMPOSSIBLE_TRAVEL.value)
    if offline is not None:
        flags.add(Flag.OFFLINE.value)
    participation |= move_participation_by_id(
        session,
        found.id,
        current,
        target,
        checked_in_at=at,
        checkin_received_at=None if offline is None else now,
        checkin_distance_m=distance,
        checkin_accuracy_m=position.accuracy_m,
        code_step=step,
        flags=sorted(flags),
        **({"no_show_at": None} if late else {}),
    )
    if late:
        # The sweep gave the seat back; the task is over, so nobody else can have it.
        session.execute(
            update(TASK_TABLE)
            .where(TASK_TABLE.c.id == found.task_id)
            .values(signed_up_count=TASK_TABLE.c.signed_up_count + 1)
        )
    return participation


def _code_step(
    found: _Found, code: str, secret_key: str, now: datetime, offline: Offline | None
) -> int:
    key = derive_key(secret_key)
    if offline is None:
        return verify_code(key, found.task_id, code, now)
    return verify_code_at(key, found.task_id, code, offline.taken_at, now)


def read_for_checkin(session: Session, participation_id: int, user_id: int) -> _Found | None:
    """One's own participation with what check-in decides on: its task's place, radius,
    window and mode, one's account (to confirm the caller), and one's previous check-in
    elsewhere. One query, on the tables: check-in is the busiest write of a task day."""
    return session.execute(
        _CHECKIN, {"participation_id": participation_id, "user_id": user_id}
    ).first()


def participation_of(found: _Found) -> dict[str, Any]:
    """The participation's own columns of a ``read_for_checkin`` row."""
    return {column.key: found._mapping[column] for column in PARTICIPATION_TABLE.c}


def _require_inputs(mode: CheckinMode, position: Position, code: str | None) -> None:
    errors: dict[str, list[str]] = {}
    if mode.needs_location:
        for name in ("lat", "lng", "accuracy_m"):
            if getattr(position, name) is None:
                errors["accuracy" if name == "accuracy_m" else name] = ["required for this task"]
    if mode.needs_code and not code:
        errors["code"] = ["this task checks in with the code staff show"]
    if errors:
        raise InvalidInput("check-in needs more", errors=errors)


def _distance(found: _Found, position: Position) -> float:
    if position.lat is None or position.lng is None:  # _require_inputs asked for both
        raise InvalidInput("check-in needs a position", errors={"lat": ["required"]})
    return check_geofence(
        found.task_lat,
        found.task_lng,
        found.task_radius_m,
        position.lat,
        position.lng,
        position.accuracy_m or 0.0,
    )


def _count_failure(session: Session, found: _Found, refused: Exception) -> None:
    failed = (found.failed_checkins or 0) + 1
    flags = set(found.flags or [])
    values: dict[str, object] = {}
    if isinstance(refused, OutsideGeofence):
        flags.add(Flag.OUTSIDE_GEOFENCE.value)
        values["checkin_distance_m"] = refused.distance_m
    if failed >= REPEATED_FAILURES_AT:
        flags.add(Flag.REPEATED_FAILURES.value)
    session.execute(
        update(PARTICIPATION_TABLE)
        .where(PARTICIPATION_TABLE.c.id == found.id)
        # Counted in SQL: two refused attempts at once both count.
        .values(
            failed_checkins=PARTICIPATION_TABLE.c.failed_checkins + 1, flags=sorted(flags), **values
        )
    )


def _travelled_impossibly(found: _Found, now: datetime) -> bool:
    """From the person's previous check-in (at another task's place) to this one, faster
    than a car in town. Uses the tasks' points, so no position of the person is kept."""
    if found.previous_lat is None or found.previous_checked_in_at is None:
        return False
    return impossible_travel(
        found.previous_lat,
        found.previous_lng,
        found.previous_checked_in_at,
        found.task_lat,
        found.task_lng,
        now,
    )


_earlier = PARTICIPATION_TABLE.alias("earlier")
_previous = PARTICIPATION_TABLE.alias("previous")
_previous_task = TASK_TABLE.alias("previous_task")
# read_for_checkin's query, built once.
_CHECKIN = (
    select(
        *PARTICIPATION_TABLE.c,
        TASK_TABLE.c.lat.label("task_lat"),
        TASK_TABLE.c.lng.label("task_lng"),
        TASK_TABLE.c.radius_m.label("task_radius_m"),
        TASK_TABLE.c.starts_at.label("task_starts_at"),
        TASK_TABLE.c.ends_at.label("task_ends_at"),
        TASK_TABLE.c.checkin_mode.label("task_checkin_mode"),
        TASK_TABLE.c.status.label("task_status"),
        USER_TABLE.c.active.label("account_active"),
        USER_TABLE.c.token_version.label("account_token_version"),
        _previous_task.c.lat.label("previous_lat"),
        _previous_task.c.lng.label("previous_lng"),
        _previous.c.checked_in_at.label("previous_checked_in_at"),
    )
    .select_from(
        PARTICIPATION_TABLE.join(TASK_TABLE, TASK_TABLE.c.id == PARTICIPATION_TABLE.c.task_id)
        .join(USER_TABLE, USER_TABLE.c.id == PARTICIPATION_TABLE.c.user_id)
        .outerjoin(
            _previous,
            _previous.c.id
            == select(_earlier.c.id)
            .where(
                _earlier.c.user_id == PARTICIPATION_TABLE.c.user_id,
                _earlier.c.id != PARTICIPATION_TABLE.c.id,
                _earlier.c.checked_in_at.is_not(None),
            )
            .order_by(_earlier.c.checked_in_at.desc())
            .limit(1)
            .correlate(PARTICIPATION_TABLE)
            .scalar_subquery(),
        )
        .outerjoin(_previous_task, _previous_task.c.id == _previous.c.task_id)
    )
    .where(
        PARTICIPATION_TABLE.c.id == bindparam("participation_id"),
        PARTICIPATION_TABLE.c.user_id == bindparam("user_id"),
    )
)


def check_out(
    session: Session,
    actor: Actor,
    participation_id: int,
    position: Position,
    now: datetime,
    offline: Offline | None = None,
) -> Participation:
    """Check the caller out, in the caller's transaction (the API's Idempotency-Key run
    commits it with the key's answer)."""
    participation, task = own_participation_and_task(session, actor, participation_id)
    current = ParticipationStatus(participation.status)
    target = transition(PARTICIPATION_TRANSITIONS, current, ParticipationAction.CHECK_OUT)
    assert participation.checked_in_at is not None  # checked in, by the transition
    flags = set(participation.flags or [])
    at = now
    if offline is not None:
        check_device_time(offline.taken_at, now, participation.signed_up_at, offline.limit)
        check_out_after_check_in(offline.taken_at, participation.checked_in_at)
        at = offline.taken_at
        flags.add(Flag.OFFLINE.value)
    # Leaving from outside the fence is flagged, not refused: people walk off at the end.
    if position.lat is not None and position.lng is not None:
        distance = haversine_m(task.lat, task.lng, position.lat, position.lng)
        if distance - min(position.accuracy_m or 0.0, ACCURACY_CAP_M) > task.radius_m:
            flags.add(Flag.OUTSIDE_GEOFENCE.value)
    hours = hours_worked(participation.checked_in_at, at, task.starts_at, task.ends_at)
    move_participation(
        session,
        participation,
        current,
        target,
        checked_out_at=at,
        checkout_received_at=None if offline is None else now,
        hours=hours,
        flags=sorted(flags),
    )
    return participation
