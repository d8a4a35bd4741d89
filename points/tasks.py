"""Tasks and participations: their life cycles as transition tables (moved by
``points.lifecycle``), the pure rules of attendance (the check-in window on the
server clock, withdrawing only before the start, hours worked, who may sign up), and
what an edit of a task may change at which point of its life (``check_edit``).

A table maps ``(state, action)`` to the next state; a pair that is not in it is
refused with ``InvalidTransition``. Keeping the tables as data lets the tests check
every pair and lets the API list what a caller may do next.

Every datetime here is timezone-aware (the server clock, in UTC); comparing an aware
with a naive one raises ``TypeError``, which is a bug in the caller, not a user error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType

from points.access import Role
from points.errors import Conflict, Forbidden, InvalidInput


class TaskStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"  # finished normally; approvals of its work go on
    CANCELLED = "cancelled"  # called off; its open participations are closed


class TaskAction(StrEnum):
    PUBLISH = "publish"
    CLOSE = "close"
    CANCEL = "cancel"


class ParticipationStatus(StrEnum):
    WAITLISTED = "waitlisted"  # the task was full; in line by signed_up_at, then id
    OFFERED = "offered"  # a place freed and is held for them until offer_expires_at
    SIGNED_UP = "signed_up"
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    REVERSED = "reversed"
    # 爽约: signed up, never checked in nor withdrew, and the task ended. It holds no
    # seat and takes no points; it only counts towards the no-show policy.
    NO_SHOW = "no_show"
    # A no-show staff accepted a reason for (生病、临时有事): it stays on the record, as
    # its own state so that excusing twice is refused by the table, and counts no more.
    EXCUSED = "excused"


class ParticipationAction(StrEnum):
    OFFER = "offer"  # by the system, when a place frees for the first in line
    CONFIRM = "confirm"  # by the person offered, before the offer expires
    LET_LAPSE = "let_lapse"  # by the sweep, when an offer expired unconfirmed
    CLOSE_LINE = "close_line"  # by the sweep, when the task starts: no place can come now
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"  # by the participant, before the task starts (see check_cancellable)
    REVERSE = "reverse"  # by staff, after approval; the ledger reverses the points
    TASK_CANCELLED = "task_cancelled"  # by the system, when staff cancel the whole task
    MARK_NO_SHOW = "mark_no_show"  # by the sweep, once the task has ended (see no_show_due)
    EXCUSE = "excuse"  # by staff in scope, with a reason
    # An offline check-in taken inside the window but sent once signal came back, after
    # the sweep had marked the sign-up a no-show: they came, so the mark goes.
    LATE_CHECK_IN = "late_check_in"
    # 补录: by staff, for work done without check-in; it goes on to approval as any
    # submitted work does (service/tasks/manual_entry.py).
    RECORD_MANUALLY = "record_manually"


class Audience(StrEnum):
    """Who may sign up for a task."""

    MEMBERS = "members"  # party members only
    EVERYONE = "everyone"  # party members and volunteers


class CheckinMode(StrEnum):
    GEOFENCE = "geofence"
    CODE = "code"
    BOTH = "both"

    @property
    def needs_location(self) -> bool:
        return self is not CheckinMode.CODE

    @property
    def needs_code(self) -> bool:
        return self is not CheckinMode.GEOFENCE


class Flag(StrEnum):
    """Suspicious signs stored on a participation for the approver; never a silent drop."""

    OUTSIDE_GEOFENCE = "outside_geofence"
    IMPOSSIBLE_TRAVEL = "impossible_travel"
    REPEATED_FAILURES = "repeated_failures"
    # Taken without signal and sent later (离线签到): judged at the phone's stated time.
    OFFLINE = "offline"
    # 补录: the hours were entered by staff after the fact, not measured by check-in and
    # check-out; reports and service records keep them apart from verified hours.
    MANUAL_ENTRY = "manual_entry"


# Read-only views: a table is the single statement of its life cycle.
TASK_TRANSITIONS: Mapping[tuple[TaskStatus, TaskAction], TaskStatus] = MappingProxyType(
    {
        (TaskStatus.DRAFT, TaskAction.PUBLISH): TaskStatus.PUBLISHED,
        (TaskStatus.DRAFT, TaskAction.CANCEL): TaskStatus.CANCELLED,
        (TaskStatus.PUBLISHED, TaskAction.CLOSE): TaskStatus.CLOSED,
        (TaskStatus.PUBLISHED, TaskAction.CANCEL): TaskStatus.CANCELLED,
    }
)

# Participations still in progress: a task's cancellation closes exactly these.
OPEN_PARTICIPATION_STATES = frozenset(
    {
        ParticipationStatus.WAITLISTED,
        ParticipationStatus.OFFERED,
        ParticipationStatus.SIGNED_UP,
        ParticipationStatus.CHECKED_IN,
        ParticipationStatus.CHECKED_OUT,
        ParticipationStatus.SUBMITTED,
    }
)


def _participation_table() -> dict[
    tuple[ParticipationStatus, ParticipationAction], ParticipationStatus
]:
    s, a = ParticipationStatus, ParticipationAction
    return {
        # The waitlist: an offer holds a freed place (the seat stays counted on the task),
        # so confirming never races anyone for it; a lapsed or declined offer hands the
        # seat on to the next in line (service/tasks/waitlist.py).
        (s.WAITLISTED, a.OFFER): s.OFFERED,
        (s.WAITLISTED, a.CANCEL): s.CANCELLED,
        (s.OFFERED, a.CONFIRM): s.SIGNED_UP,
        (s.OFFERED, a.CANCEL): s.CANCELLED,
        (s.OFFERED, a.LET_LAPSE): s.CANCELLED,
        (s.WAITLISTED, a.CLOSE_LINE): s.CANCELLED,
        (s.SIGNED_UP, a.CHECK_IN): s.CHECKED_IN,
        (s.SIGNED_UP, a.CANCEL): s.CANCELLED,
        (s.CHECKED_IN, a.CHECK_OUT): s.CHECKED_OUT,
        (s.CHECKED_OUT, a.SUBMIT): s.SUBMITTED,
        (s.SUBMITTED, a.APPROVE): s.APPROVED,
        (s.SUBMITTED, a.REJECT): s.REJECTED,
        (s.APPROVED, a.REVERSE): s.REVERSED,
        # Only a plain sign-up becomes a no-show: whoever checked in came, and a place
        # still waitlisted or offered was never theirs to keep.
        (s.SIGNED_UP, a.MARK_NO_SHOW): s.NO_SHOW,
        (s.NO_SHOW, a.EXCUSE): s.EXCUSED,
        (s.NO_SHOW, a.LATE_CHECK_IN): s.CHECKED_IN,
        # 补录: work done without check-in, entered by staff, waits for approval like any
        # other. From a sign-up never checked in into, or from a withdrawn one (they came
        # after all); someone not signed up at all gets a participation made signed_up
        # first. A no-show, excused or not, may have come without checking in after all.
        (s.SIGNED_UP, a.RECORD_MANUALLY): s.SUBMITTED,
        (s.CANCELLED, a.RECORD_MANUALLY): s.SUBMITTED,
        (s.NO_SHOW, a.RECORD_MANUALLY): s.SUBMITTED,
        (s.EXCUSED, a.RECORD_MANUALLY): s.SUBMITTED,
        # A cancelled task closes whatever is still open, work awaiting approval
        # included: staff who want to credit submitted work approve it first. Approved
        # work keeps its points (taking them back is a reversal, a decision of its own).
        **{(state, a.TASK_CANCELLED): s.CANCELLED for state in OPEN_PARTICIPATION_STATES},
    }


PARTICIPATION_TRANSITIONS: Mapping[
    tuple[ParticipationStatus, ParticipationAction], ParticipationStatus
] = MappingProxyType(_participation_table())


class OutsideWindow(Conflict):
    code = "outside_window"


class CancelTooLate(Conflict):
    code = "cancel_too_late"


class NotInAudience(Forbidden):
    code = "not_in_audience"


# Seats counted on a task (``signed_up_count``): an offer holds its seat until it is
# confirmed or lapses; the waitlist holds none.
SEAT_HOLDING_STATES = OPEN_PARTICIPATION_STATES - {ParticipationStatus.WAITLISTED}

OFFER_TIME = timedelta(hours=2)


class OfferExpired(Conflict):
    code = "offer_expired"


def offer_expires_at(now: datetime, starts_at: datetime, limit: timedelta = OFFER_TIME) -> datetime:
    """An offered place is held for ``limit``, or until the task starts if that is sooner:
    a place nobody confirmed by the start is no use to anyone."""
    return min(now + limit, starts_at)


def check_offer_open(now: datetime, expires_at: datetime) -> None:
    if now >= expires_at:
        raise OfferExpired(f"the offer ran out at {expires_at.isoformat()}")


def no_show_due(now: datetime, ends_at: datetime) -> bool:
    """A sign-up with no check-in is a no-show from the moment the task ends, not
    before: check-in stays open until then (``check_in_window``)."""
    return now >= ends_at


def check_cancellable(now: datetime, starts_at: datetime) -> None:
    """A participant may withdraw only before the task starts; after that a no-show
    stays a no-show (staff can still cancel the whole task)."""
    if now >= starts_at:
        raise CancelTooLate(f"the task started at {starts_at.isoformat()}")


def check_in_window(
    now: datetime,
    starts_at: datetime,
    ends_at: datetime,
    early: timedelta = timedelta(minutes=30),
) -> None:
    """Check-in is open from ``early`` before the start until the end, both inclusive."""
    opens_at = starts_at - early
    if not opens_at <= now <= ends_at:
        raise OutsideWindow(
            f"check-in is open from {opens_at.isoformat()} to {ends_at.isoformat()}"
        )


_MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)
_CENTS = Decimal("0.01")


def hours_worked(
    checked_in_at: datetime,
    checked_out_at: datetime,
    starts_at: datetime,
    ends_at: datetime,
) -> Decimal:
    """Hours between check-in and check-out, counting only time inside the task's
    window: arriving early or leaving late earns nothing extra. Never negative."""
    begin = max(checked_in_at, starts_at)
    end = min(checked_out_at, ends_at)
    # Whole microseconds keep the arithmetic exact before the single rounding step.
    micros = max((end - begin) // timedelta(microseconds=1), 0)
    return (Decimal(micros) / _MICROSECONDS_PER_HOUR).quantize(_CENTS, rounding=ROUND_HALF_UP)


# --- 补录: work entered after the fact ------------------------------------------------


class HoursAboveTaskLength(InvalidInput):
    code = "hours_above_task_length"


class EvidenceRequired(InvalidInput):
    code = "evidence_required"


class SecondStaffRequired(Forbidden):
    """Entered work above the threshold is approved by someone other than who entered it,
    as a large manual award is confirmed by a second staff member."""

    code = "second_staff_required"


class TaskNotStarted(Conflict):
    code = "task_not_started"


def task_length_hours(starts_at: datetime, ends_at: datetime) -> Decimal:
    return hours_worked(starts_at, ends_at, starts_at, ends_at)


def check_manual_hours(
    hours: Decimal, starts_at: datetime, ends_at: datetime, now: datetime | None = None
) -> None:
    """Entered hours are at most the task's length, or as much of it as has run by
    ``now``: nobody served longer than it ran."""
    length = task_length_hours(starts_at, ends_at if now is None else min(ends_at, now))
    if hours > length:
        raise HoursAboveTaskLength(
            f"the task ran {length} hours; no more can be entered",
            errors={"hours": [f"at most {length}"]},
        )


def check_evidence(note: str, upload_ids: Iterable[int]) -> None:
    """Work nobody saw checked in is entered with something to show for it."""
    if not note.strip() and not list(upload_ids):
        raise EvidenceRequired(
            "say what shows the work was done: a note, photos, or both",
            errors={"note": ["a note or photos are required"]},
        )


def needs_second_staff(
    hours: Decimal, units: int | None, confirm_above: Decimal, confirm_above_units: int
) -> bool:
    """Counted work is priced per unit, so many units entered by hand weigh as much as
    many hours: either, above its threshold, needs someone else's approval."""
    return hours > confirm_above or (units or 0) > confirm_above_units


# Residents, staff and the rest sign up only if they also hold one of these roles:
# tasks earn points, and only members and volunteers earn them for service work.
_AUDIENCE_ROLES: Mapping[Audience, frozenset[Role]] = {
    Audience.MEMBERS: frozenset({Role.MEMBER}),
    Audience.EVERYONE: frozenset({Role.MEMBER, Role.VOLUNTEER}),
}


def may_sign_up(audience: Audience, roles: Iterable[Role]) -> bool:
    return not _AUDIENCE_ROLES[audience].isdisjoint(roles)


def check_audience(audience: Audience, roles: Iterable[Role]) -> None:
    if not may_sign_up(audience, roles):
        who = "party members" if audience is Audience.MEMBERS else "party members and volunteers"
        raise NotInAudience(f"this task is open to {who} only")


# --- editing a task ---------------------------------------------------------------------
#
# A task is edited only while it is open (a draft or published). What may change depends
# on how far the people taking part have got, because each later step read something:
#
# - its words and its pin (title, description, address, lat, lng, radius_m) may always be
#   corrected: a wrong pin is exactly what keeps people from checking in;
# - capacity may shrink no lower than the seats already taken;
# - the window and what prices or checks the work (starts_at, ends_at, checkin_mode,
#   work_unit, type, category) stay as they are once anyone has checked in: hours are
#   counted inside the window, and the rules price the work by its type and unit;
# - the place and the audience stay as they are once anyone holds a seat: a member saw
#   the task where they live, or was let in by its audience, and moving it elsewhere (or
#   narrowing who may come) would take it away from under them. Widening the audience
#   to everyone takes nothing from anyone. To move a task people signed up for, cancel
#   it (they are told why) and post it again.

EDITABLE_TASK_STATES = frozenset({TaskStatus.DRAFT, TaskStatus.PUBLISHED})
ALWAYS_EDITABLE = frozenset({"title", "description", "address", "lat", "lng", "radius_m"})
FIXED_ONCE_CHECKED_IN = frozenset(
    {"starts_at", "ends_at", "checkin_mode", "work_unit", "type", "category"}
)
FIXED_ONCE_SIGNED_UP = frozenset({"place_id", "audience"})
EDITABLE_TASK_FIELDS = (
    ALWAYS_EDITABLE | FIXED_ONCE_CHECKED_IN | FIXED_ONCE_SIGNED_UP | frozenset({"capacity"})
)


# Fields as the API names them in errors (a task's place is its ``org_id`` there).
_SHOWN_AS = {"place_id": "org_id"}


def _errors(names: Iterable[str], message: str) -> dict[str, list[str]]:
    return {_SHOWN_AS.get(name, name): [message] for name in names}


class TaskNotEditable(Conflict):
    code = "task_not_editable"


class CapacityBelowSignUps(Conflict):
    code = "capacity_below_signups"


class TaskUnderWay(Conflict):
    code = "task_under_way"


class TaskHasSignUps(Conflict):
    code = "task_has_signups"


@dataclass(frozen=True)
class TaskProgress:
    """How far the people taking part in a task have got, as an edit must know it."""

    status: TaskStatus
    seats_taken: int
    anyone_checked_in: bool


def fixed_by_seats(changed: Mapping[str, tuple[object, object]]) -> frozenset[str]:
    """The changed fields that only an empty task may change (see above): the place,
    and the audience unless it widens to everyone."""
    fixed = set(FIXED_ONCE_SIGNED_UP & changed.keys())
    if "audience" in fixed and changed["audience"][1] == Audience.EVERYONE.value:
        fixed.discard("audience")
    return frozenset(fixed)


def check_edit(progress: TaskProgress, changed: Mapping[str, tuple[object, object]]) -> None:
    """Raise unless a task this far along may take these changes, given as
    ``field: (before, after)``."""
    unknown = changed.keys() - EDITABLE_TASK_FIELDS
    if unknown:
        raise ValueError(f"not task fields one edits: {sorted(unknown)}")
    if progress.status not in EDITABLE_TASK_STATES:
        raise TaskNotEditable(f"a {progress.status.value} task can no longer be edited")
    if "capacity" in changed:
        capacity = changed["capacity"][1]
        if not isinstance(capacity, int) or capacity < progress.seats_taken:
            raise CapacityBelowSignUps(
                f"{progress.seats_taken} people have signed up; capacity can't go below that",
                errors={"capacity": [f"at least {progress.seats_taken}"]},
            )
    frozen = sorted(FIXED_ONCE_CHECKED_IN & changed.keys())
    if frozen and progress.anyone_checked_in:
        raise TaskUnderWay(
            "someone has checked in: the window and what prices the work stay as they are",
            errors=_errors(frozen, "fixed once anyone has checked in"),
        )
    seated = sorted(fixed_by_seats(changed))
    if seated and progress.seats_taken:
        raise TaskHasSignUps(
            "people have signed up: the place and who may come stay as they are "
            "(cancel the task and post it again to move it)",
            errors=_errors(seated, "fixed once anyone has signed up"),
        )
