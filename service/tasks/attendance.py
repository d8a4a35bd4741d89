"""Showing up and leaving: check-in (签到) and check-out (签退).

Check-in uses the server's clock and window, the task's fence and/or a rotating
code shown by staff. A refused attempt is counted and, when suspicious, flagged for
the approver; nothing is silently dropped. Only the measured distance and accuracy
are kept, never where the person was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from points.checkin_code import (
    BadCheckinCode,
    CheckinCode,
    check_not_replayed,
    derive_key,
    issue_code,
    verify_code,
)
from points.errors import Conflict, InvalidInput, NotFound
from points.geo import (
    ACCURACY_CAP_M,
    OutsideGeofence,
    check_geofence,
    haversine_m,
    impossible_travel,
)
from points.tasks import (
    PARTICIPATION_TRANSITIONS,
    CheckinMode,
    Flag,
    OutsideWindow,
    ParticipationAction,
    ParticipationStatus,
    check_in_window,
    hours_worked,
    transition,
)
from service.access import Actor
from service.auth.current import confirm_account, confirm_caller
from service.auth.tokens import AccessClaims
from service.people.models import User
from service.tasks.board import staff_task
from service.tasks.models import Participation, Task
from service.tasks.signups import move_participation, own_participation_and_task
from service.unit_of_work import UnitOfWork

REPEATED_FAILURES_AT = 3


class AlreadyCheckedIn(Conflict):
    code = "already_checked_in"


@dataclass(frozen=True)
class Position:
    lat: float | None = None
    lng: float | None = None
    accuracy_m: float | None = None


def checkin_code_for(
    session: Session, actor: Actor, task_id: int, secret_key: str, now: datetime
) -> CheckinCode:
    """The code (and QR scene) a staff device shows now; it changes every minute."""
    task = staff_task(session, actor, task_id)
    return issue_code(derive_key(secret_key), task.id, now)


def check_in(
    uow: UnitOfWork,
    caller: AccessClaims,
    participation_id: int,
    position: Position,
    code: str | None,
    secret_key: str,
    now: datetime,
) -> Participation:
    with uow:
        session = uow.session
        found = session.execute(
            _CHECKIN, {"participation_id": participation_id, "user_id": caller.user_id}
        ).first()
        if found is None:
            confirm_caller(session, caller)  # a refused token is 401, not 404
            raise NotFound("participation not found")
        participation, task, active, token_version = found[:4]
        # The caller's account came with their participation: confirmed here, not by a
        # query of its own before the request (api/authentication.py).
        confirm_account(caller, active, token_version)
        previous = _Previous(*found[4:])
        current = ParticipationStatus(participation.status)
        if current is ParticipationStatus.CHECKED_IN:
            raise AlreadyCheckedIn("you are already checked in")
        target = transition(PARTICIPATION_TRANSITIONS, current, ParticipationAction.CHECK_IN)
        mode = CheckinMode(task.checkin_mode)
        _require_inputs(mode, position, code)
        try:
            check_in_window(now, task.starts_at, task.ends_at)
            distance = _distance(task, position) if mode.needs_location else None
            step = (
                verify_code(derive_key(secret_key), task.id, code or "", now)
                if (mode.needs_code)
                else None
            )
            if step is not None:
                check_not_replayed(step, participation.code_step)
        except (OutsideWindow, OutsideGeofence, BadCheckinCode) as refused:
            _count_failure(session, participation, refused)
            uow.commit()  # the failed attempt is kept for the approver, then refused
            raise
        flags = set(participation.flags or [])
        if previous.travelled_impossibly(task, now):
            flags.add(Flag.IMPOSSIBLE_TRAVEL.value)
        move_participation(
            session,
            participation,
            current,
            target,
            checked_in_at=now,
            checkin_distance_m=distance,
            checkin_accuracy_m=position.accuracy_m,
            code_step=step,
            flags=sorted(flags),
        )
        uow.commit()
        return participation


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


def _distance(task: Task, position: Position) -> float:
    if position.lat is None or position.lng is None:  # _require_inputs asked for both
        raise InvalidInput("check-in needs a position", errors={"lat": ["required"]})
    return check_geofence(
        task.lat, task.lng, task.radius_m, position.lat, position.lng, position.accuracy_m or 0.0
    )


def _count_failure(session: Session, participation: Participation, refused: Exception) -> None:
    participation.failed_checkins = (participation.failed_checkins or 0) + 1
    flags = set(participation.flags or [])
    if isinstance(refused, OutsideGeofence):
        flags.add(Flag.OUTSIDE_GEOFENCE.value)
        participation.checkin_distance_m = refused.distance_m
    if participation.failed_checkins >= REPEATED_FAILURES_AT:
        flags.add(Flag.REPEATED_FAILURES.value)
    participation.flags = sorted(flags)


@dataclass(frozen=True)
class _Previous:
    """The person's latest check-in at another task: where that task is, and when."""

    lat: float | None
    lng: float | None
    checked_in_at: datetime | None

    def travelled_impossibly(self, task: Task, now: datetime) -> bool:
        """From there to this task's place faster than a car in town. Uses the tasks'
        points, so no position of the person is kept."""
        if self.lat is None or self.lng is None or self.checked_in_at is None:
            return False
        return impossible_travel(self.lat, self.lng, self.checked_in_at, task.lat, task.lng, now)


_earlier = aliased(Participation)
_previous = aliased(Participation)
_previous_task = aliased(Task)
# One's own participation, its task, one's account (to confirm the caller) and one's
# previous check-in elsewhere, in one query built once: check-in is the busiest write
# of a task day.
_CHECKIN = (
    select(
        Participation,
        Task,
        User.active,
        User.token_version,
        _previous_task.lat,
        _previous_task.lng,
        _previous.checked_in_at,
    )
    .join(Task, Task.id == Participation.task_id)
    .join(User, User.id == Participation.user_id)
    .outerjoin(
        _previous,
        _previous.id
        == select(_earlier.id)
        .where(
            _earlier.user_id == Participation.user_id,
            _earlier.id != Participation.id,
            _earlier.checked_in_at.is_not(None),
        )
        .order_by(_earlier.checked_in_at.desc())
        .limit(1)
        .correlate(Participation)
        .scalar_subquery(),
    )
    .outerjoin(_previous_task, _previous_task.id == _previous.task_id)
    .where(
        Participation.id == bindparam("participation_id"),
        Participation.user_id == bindparam("user_id"),
    )
)


def check_out(
    uow: UnitOfWork, actor: Actor, participation_id: int, position: Position, now: datetime
) -> Participation:
    with uow:
        session = uow.session
        participation, task = own_participation_and_task(session, actor, participation_id)
        current = ParticipationStatus(participation.status)
        target = transition(PARTICIPATION_TRANSITIONS, current, ParticipationAction.CHECK_OUT)
        assert participation.checked_in_at is not None  # checked in, by the transition
        flags = set(participation.flags or [])
        # Leaving from outside the fence is flagged, not refused: people walk off at the end.
        if position.lat is not None and position.lng is not None:
            distance = haversine_m(task.lat, task.lng, position.lat, position.lng)
            if distance - min(position.accuracy_m or 0.0, ACCURACY_CAP_M) > task.radius_m:
                flags.add(Flag.OUTSIDE_GEOFENCE.value)
        hours = hours_worked(participation.checked_in_at, now, task.starts_at, task.ends_at)
        move_participation(
            session,
            participation,
            current,
            target,
            checked_out_at=now,
            hours=hours,
            flags=sorted(flags),
        )
        uow.commit()
        return participation
