"""Task and participation life cycles, and the pure rules of attendance."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from points.access import Role
from points.errors import Conflict, Forbidden
from points.lifecycle import InvalidTransition, allowed_actions, transition
from points.tasks import (
    ALWAYS_EDITABLE,
    EDITABLE_TASK_FIELDS,
    FIXED_ONCE_CHECKED_IN,
    FIXED_ONCE_SIGNED_UP,
    OPEN_PARTICIPATION_STATES,
    PARTICIPATION_TRANSITIONS,
    SEAT_HOLDING_STATES,
    TASK_TRANSITIONS,
    Audience,
    CancelTooLate,
    CapacityBelowSignUps,
    CheckinMode,
    NotInAudience,
    OfferExpired,
    OutsideWindow,
    ParticipationAction,
    ParticipationStatus,
    TaskAction,
    TaskHasSignUps,
    TaskNotEditable,
    TaskProgress,
    TaskStatus,
    TaskUnderWay,
    check_audience,
    check_cancellable,
    check_edit,
    check_in_window,
    check_offer_open,
    hours_worked,
    may_sign_up,
    no_show_due,
    offer_expires_at,
)

# The expected edges, written out by hand so that the tests check the tables rather than
# read them back: a change to a life cycle has to be made in both places.
TASK_EDGES = {
    ("draft", "publish"): "published",
    ("draft", "cancel"): "cancelled",
    ("published", "close"): "closed",
    ("published", "cancel"): "cancelled",
}
PARTICIPATION_EDGES = {
    ("waitlisted", "offer"): "offered",
    ("waitlisted", "cancel"): "cancelled",
    ("waitlisted", "close_line"): "cancelled",
    ("offered", "confirm"): "signed_up",
    ("offered", "cancel"): "cancelled",
    ("offered", "let_lapse"): "cancelled",
    ("waitlisted", "task_cancelled"): "cancelled",
    ("offered", "task_cancelled"): "cancelled",
    ("signed_up", "check_in"): "checked_in",
    ("signed_up", "cancel"): "cancelled",
    ("checked_in", "check_out"): "checked_out",
    ("checked_out", "submit"): "submitted",
    ("submitted", "approve"): "approved",
    ("submitted", "reject"): "rejected",
    ("approved", "reverse"): "reversed",
    ("signed_up", "mark_no_show"): "no_show",
    ("no_show", "excuse"): "excused",
    ("no_show", "late_check_in"): "checked_in",
    ("signed_up", "task_cancelled"): "cancelled",
    ("checked_in", "task_cancelled"): "cancelled",
    ("checked_out", "task_cancelled"): "cancelled",
    ("submitted", "task_cancelled"): "cancelled",
    ("signed_up", "record_manually"): "submitted",
    ("cancelled", "record_manually"): "submitted",
    ("no_show", "record_manually"): "submitted",
    ("excused", "record_manually"): "submitted",
}

START = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
END = datetime(2025, 3, 5, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize("state", list(TaskStatus))
@pytest.mark.parametrize("action", list(TaskAction))
def test_every_task_state_and_action(state: TaskStatus, action: TaskAction) -> None:
    expected = TASK_EDGES.get((state.value, action.value))
    if expected is not None:
        assert transition(TASK_TRANSITIONS, state, action) == TaskStatus(expected)
    else:
        with pytest.raises(InvalidTransition) as raised:
            transition(TASK_TRANSITIONS, state, action)
        assert raised.value.code == "invalid_transition"
        assert isinstance(raised.value, Conflict)
        assert state.value in raised.value.message


@pytest.mark.parametrize("state", list(ParticipationStatus))
@pytest.mark.parametrize("action", list(ParticipationAction))
def test_every_participation_state_and_action(
    state: ParticipationStatus, action: ParticipationAction
) -> None:
    expected = PARTICIPATION_EDGES.get((state.value, action.value))
    if expected is not None:
        assert transition(PARTICIPATION_TRANSITIONS, state, action) == ParticipationStatus(expected)
    else:
        with pytest.raises(InvalidTransition) as raised:
            transition(PARTICIPATION_TRANSITIONS, state, action)
        assert raised.value.code == "invalid_transition"
        assert isinstance(raised.value, Conflict)


def test_tables_hold_nothing_beyond_the_listed_edges() -> None:
    assert {(s.value, a.value): t.value for (s, a), t in TASK_TRANSITIONS.items()} == TASK_EDGES
    assert {
        (s.value, a.value): t.value for (s, a), t in PARTICIPATION_TRANSITIONS.items()
    } == PARTICIPATION_EDGES


def test_the_message_names_both_states() -> None:
    with pytest.raises(InvalidTransition) as raised:
        transition(
            PARTICIPATION_TRANSITIONS, ParticipationStatus.CHECKED_IN, ParticipationAction.APPROVE
        )
    assert raised.value.message == "cannot approve: no way from checked_in to approved"
    assert raised.value.target == ParticipationStatus.APPROVED


def test_an_offer_is_held_two_hours_or_until_the_start() -> None:
    early = START - timedelta(days=1)
    assert offer_expires_at(early, START) == early + timedelta(hours=2)
    late = START - timedelta(minutes=30)
    assert offer_expires_at(late, START) == START
    check_offer_open(START - timedelta(microseconds=1), START)
    with pytest.raises(OfferExpired) as raised:
        check_offer_open(START, START)
    assert raised.value.code == "offer_expired"
    assert isinstance(raised.value, Conflict)


def test_an_offer_holds_a_seat_and_the_waitlist_does_not() -> None:
    assert ParticipationStatus.OFFERED in SEAT_HOLDING_STATES
    assert ParticipationStatus.SIGNED_UP in SEAT_HOLDING_STATES
    assert ParticipationStatus.WAITLISTED not in SEAT_HOLDING_STATES


@pytest.mark.parametrize("state", [ParticipationStatus.NO_SHOW, ParticipationStatus.EXCUSED])
def test_a_no_show_is_closed_holds_no_seat_and_a_cancelled_task_leaves_it(
    state: ParticipationStatus,
) -> None:
    assert state not in OPEN_PARTICIPATION_STATES
    assert state not in SEAT_HOLDING_STATES
    with pytest.raises(InvalidTransition):
        transition(PARTICIPATION_TRANSITIONS, state, ParticipationAction.TASK_CANCELLED)


@pytest.mark.parametrize(
    ("now", "due"),
    [(END - timedelta(microseconds=1), False), (END, True), (END + timedelta(days=1), True)],
)
def test_a_sign_up_is_a_no_show_from_the_moment_the_task_ends(now: datetime, due: bool) -> None:
    assert no_show_due(now, END) is due


def test_the_tables_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        TASK_TRANSITIONS[TaskStatus.CLOSED, TaskAction.PUBLISH] = TaskStatus.PUBLISHED  # type: ignore[index]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            ParticipationStatus.SIGNED_UP,
            {"check_in", "cancel", "task_cancelled", "mark_no_show", "record_manually"},
        ),
        (ParticipationStatus.NO_SHOW, {"excuse", "late_check_in", "record_manually"}),
        (ParticipationStatus.EXCUSED, {"record_manually"}),
        (ParticipationStatus.SUBMITTED, {"approve", "reject", "task_cancelled"}),
        (ParticipationStatus.APPROVED, {"reverse"}),
        (ParticipationStatus.REVERSED, set()),
        (ParticipationStatus.CANCELLED, {"record_manually"}),
    ],
)
def test_allowed_actions(state: ParticipationStatus, expected: set[str]) -> None:
    assert set(allowed_actions(PARTICIPATION_TRANSITIONS, state)) == expected


def test_allowed_actions_for_tasks_keep_the_table_order() -> None:
    assert allowed_actions(TASK_TRANSITIONS, TaskStatus.DRAFT) == ["publish", "cancel"]
    assert allowed_actions(TASK_TRANSITIONS, TaskStatus.CLOSED) == []


def test_a_participant_may_cancel_until_the_start() -> None:
    check_cancellable(START - timedelta(microseconds=1), START)
    for now in (START, START + timedelta(minutes=1)):
        with pytest.raises(CancelTooLate) as raised:
            check_cancellable(now, START)
        assert raised.value.code == "cancel_too_late"
        assert isinstance(raised.value, Conflict)


def _window_open(now: datetime, early: timedelta | None = None) -> bool:
    try:
        if early is None:
            check_in_window(now, START, END)
        else:
            check_in_window(now, START, END, early=early)
    except OutsideWindow:
        return False
    return True


@pytest.mark.parametrize(
    ("now", "is_open"),
    [
        (START - timedelta(minutes=30, seconds=1), False),
        (START - timedelta(minutes=30), True),
        (START, True),
        (START + timedelta(hours=1), True),
        (END, True),
        (END + timedelta(microseconds=1), False),
    ],
)
def test_check_in_is_open_from_half_an_hour_before_until_the_end(
    now: datetime, is_open: bool
) -> None:
    assert _window_open(now) is is_open


@pytest.mark.parametrize(
    "now",
    [
        START - timedelta(minutes=30, seconds=1),
        START - timedelta(days=1),
        END + timedelta(seconds=1),
        END + timedelta(microseconds=1),
    ],
)
def test_check_in_outside_the_window_is_refused(now: datetime) -> None:
    with pytest.raises(OutsideWindow) as raised:
        check_in_window(now, START, END)
    assert raised.value.code == "outside_window"
    assert isinstance(raised.value, Conflict)


def test_the_early_allowance_can_be_changed() -> None:
    ten = timedelta(minutes=10)
    assert _window_open(START - timedelta(minutes=10), early=ten)
    assert not _window_open(START - timedelta(minutes=11), early=ten)


def _at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 3, 5, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("checked_in", "checked_out", "hours"),
    [
        (_at(9), _at(11), "2.00"),  # the whole window
        (_at(9, 30), _at(10, 15), "0.75"),  # inside it
        (_at(8, 30), _at(10), "1.00"),  # early arrival does not count
        (_at(10), _at(13), "1.00"),  # nor does staying late
        (_at(8), _at(12), "2.00"),  # both ends clipped
        (_at(9), _at(9, 0, 18), "0.01"),  # 0.005 h rounds half up
        (_at(9), _at(9, 0, 17), "0.00"),  # 0.00472 h rounds down
        (_at(9), _at(9, 20), "0.33"),
        (_at(9), _at(9, 40), "0.67"),
        (_at(10), _at(10), "0.00"),  # no time at all
        (_at(7), _at(8), "0.00"),  # entirely before the window: never negative
        (_at(12), _at(13), "0.00"),  # entirely after it
        (_at(10), _at(9, 30), "0.00"),  # clocks out of order: never negative
    ],
)
def test_hours_worked(checked_in: datetime, checked_out: datetime, hours: str) -> None:
    worked = hours_worked(checked_in, checked_out, START, END)
    assert worked == Decimal(hours)
    assert worked.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("audience", "roles", "allowed"),
    [
        (Audience.MEMBERS, {Role.MEMBER}, True),
        (Audience.MEMBERS, {Role.VOLUNTEER}, False),
        (Audience.MEMBERS, {Role.VOLUNTEER, Role.MEMBER}, True),
        (Audience.MEMBERS, {Role.RESIDENT}, False),
        (Audience.MEMBERS, {Role.STAFF, Role.ADMIN}, False),
        (Audience.MEMBERS, set(), False),
        (Audience.EVERYONE, {Role.MEMBER}, True),
        (Audience.EVERYONE, {Role.VOLUNTEER}, True),
        (Audience.EVERYONE, {Role.RESIDENT}, False),
        (Audience.EVERYONE, {Role.RESIDENT, Role.VOLUNTEER}, True),
        (Audience.EVERYONE, {Role.STAFF}, False),
        (Audience.EVERYONE, set(), False),
    ],
)
def test_who_may_sign_up(audience: Audience, roles: set[Role], allowed: bool) -> None:
    assert may_sign_up(audience, roles) is allowed
    if allowed:
        check_audience(audience, iter(roles))
    else:
        with pytest.raises(NotInAudience) as raised:
            check_audience(audience, iter(roles))
        assert raised.value.code == "not_in_audience"
        assert isinstance(raised.value, Forbidden)


def test_audience_accepts_role_codes_as_stored() -> None:
    assert may_sign_up(Audience("everyone"), ["volunteer"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("mode", "location", "code"),
    [("geofence", True, False), ("code", False, True), ("both", True, True)],
)
def test_checkin_modes(mode: str, location: bool, code: bool) -> None:
    assert CheckinMode(mode).needs_location is location
    assert CheckinMode(mode).needs_code is code


# --- editing a task ---------------------------------------------------------------------

OPEN = TaskProgress(TaskStatus.PUBLISHED, seats_taken=0, anyone_checked_in=False)
SEATED = TaskProgress(TaskStatus.PUBLISHED, seats_taken=3, anyone_checked_in=False)
UNDER_WAY = TaskProgress(TaskStatus.PUBLISHED, seats_taken=3, anyone_checked_in=True)


def test_every_editable_field_belongs_to_exactly_one_rule() -> None:
    groups = [ALWAYS_EDITABLE, FIXED_ONCE_CHECKED_IN, FIXED_ONCE_SIGNED_UP, {"capacity"}]
    assert sum(len(group) for group in groups) == len(EDITABLE_TASK_FIELDS)


@pytest.mark.parametrize("status", list(TaskStatus))
def test_only_drafts_and_published_tasks_are_edited(status: TaskStatus) -> None:
    progress = TaskProgress(status, seats_taken=0, anyone_checked_in=False)
    if status in (TaskStatus.DRAFT, TaskStatus.PUBLISHED):
        check_edit(progress, {"title": ("旧", "新")})
    else:
        with pytest.raises(TaskNotEditable):
            check_edit(progress, {"title": ("旧", "新")})


@pytest.mark.parametrize("name", sorted(ALWAYS_EDITABLE))
def test_words_and_the_pin_change_even_once_the_task_is_under_way(name: str) -> None:
    check_edit(UNDER_WAY, {name: (1, 2)})


@pytest.mark.parametrize("name", sorted(FIXED_ONCE_CHECKED_IN))
def test_the_window_and_what_prices_the_work_stay_once_anyone_checked_in(name: str) -> None:
    check_edit(SEATED, {name: (1, 2)})
    with pytest.raises(TaskUnderWay) as refused:
        check_edit(UNDER_WAY, {name: (1, 2)})
    assert refused.value.errors == {name: ["fixed once anyone has checked in"]}


def test_the_place_stays_once_anyone_holds_a_seat_and_is_named_as_the_api_does() -> None:
    check_edit(OPEN, {"place_id": (1, 2)})
    with pytest.raises(TaskHasSignUps) as refused:
        check_edit(SEATED, {"place_id": (1, 2)})
    assert refused.value.errors == {"org_id": ["fixed once anyone has signed up"]}


def test_the_audience_only_widens_once_anyone_holds_a_seat() -> None:
    check_edit(SEATED, {"audience": ("members", "everyone")})
    check_edit(OPEN, {"audience": ("everyone", "members")})
    with pytest.raises(TaskHasSignUps):
        check_edit(SEATED, {"audience": ("everyone", "members")})


@pytest.mark.parametrize(("capacity", "allowed"), [(2, False), (3, True), (10, True)])
def test_capacity_goes_no_lower_than_the_seats_taken(capacity: int, allowed: bool) -> None:
    if allowed:
        check_edit(UNDER_WAY, {"capacity": (5, capacity)})
    else:
        with pytest.raises(CapacityBelowSignUps):
            check_edit(UNDER_WAY, {"capacity": (5, capacity)})


def test_a_field_no_edit_changes_is_a_bug_not_a_users_error() -> None:
    with pytest.raises(ValueError, match="status"):
        check_edit(OPEN, {"status": ("draft", "closed")})
