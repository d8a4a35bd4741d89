"""The bounds on a phone's stated time for an offline check-in, and the rotating code
judged at that time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from points.checkin_code import BadCheckinCode, derive_key, issue_code, verify_code_at
from points.errors import DomainError
from points.offline import (
    CLOCK_SKEW,
    OFFLINE_LIMIT,
    CheckOutBeforeCheckIn,
    DeviceTimeBeforeSignUp,
    DeviceTimeInFuture,
    OfflineTooLate,
    check_device_time,
    check_out_after_check_in,
)

NOW = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # when it arrives
SIGNED_UP = NOW - timedelta(days=2)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    "taken_at",
    [NOW - OFFLINE_LIMIT, NOW - timedelta(hours=3), NOW, NOW + CLOCK_SKEW],
)
def test_a_believable_stated_time_passes(taken_at: datetime) -> None:
    check_device_time(taken_at, NOW, SIGNED_UP)
    check_device_time(taken_at, NOW, taken_at)  # taken the moment they signed up


@pytest.mark.parametrize(
    ("taken_at", "signed_up_at", "refusal", "code"),
    [
        (NOW + CLOCK_SKEW + SECOND, SIGNED_UP, DeviceTimeInFuture, "device_time_in_future"),
        (NOW - OFFLINE_LIMIT - SECOND, SIGNED_UP, OfflineTooLate, "offline_too_late"),
        (
            NOW - timedelta(hours=1),
            NOW - timedelta(hours=1) + SECOND,
            DeviceTimeBeforeSignUp,
            "device_time_before_signup",
        ),
    ],
)
def test_an_unbelievable_stated_time_is_refused_with_its_code(
    taken_at: datetime, signed_up_at: datetime, refusal: type[DomainError], code: str
) -> None:
    with pytest.raises(refusal) as refused:
        check_device_time(taken_at, NOW, signed_up_at)
    assert refused.value.code == code
    assert list(refused.value.errors) == ["taken_at"]


def test_the_limit_is_the_callers() -> None:
    check_device_time(NOW - timedelta(hours=1), NOW, SIGNED_UP, limit=timedelta(hours=1))
    with pytest.raises(OfflineTooLate):
        check_device_time(NOW - timedelta(hours=1) - SECOND, NOW, SIGNED_UP, timedelta(hours=1))


def test_a_naive_stated_time_is_a_bug_of_the_caller() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_device_time(NOW.replace(tzinfo=None), NOW, SIGNED_UP)


def test_a_check_out_is_not_before_its_check_in() -> None:
    check_out_after_check_in(NOW, NOW)
    with pytest.raises(CheckOutBeforeCheckIn):
        check_out_after_check_in(NOW - SECOND, NOW)


KEY = derive_key("test-app-secret")
TASK = 812
SHOWN = datetime(2026, 11, 2, 1, 5, tzinfo=UTC)  # a step's start


@pytest.mark.parametrize(
    ("stated", "accepted"),
    [
        # Its own step and the next, as online, plus one step either way for the phone.
        (SHOWN - timedelta(seconds=61), False),
        (SHOWN - timedelta(seconds=60), True),
        (SHOWN, True),
        (SHOWN + timedelta(seconds=119), True),
        (SHOWN + timedelta(seconds=179), True),
        (SHOWN + timedelta(seconds=180), False),
    ],
)
def test_a_code_is_judged_at_the_stated_time_within_a_step(
    stated: datetime, accepted: bool
) -> None:
    shown = issue_code(KEY, TASK, SHOWN)
    hours_later = SHOWN + timedelta(hours=5)
    if accepted:
        assert verify_code_at(KEY, TASK, shown.code, stated, hours_later) == shown.step
    else:
        with pytest.raises(BadCheckinCode):
            verify_code_at(KEY, TASK, shown.code, stated, hours_later)


def test_no_step_the_server_has_not_reached_is_accepted() -> None:
    # A stated time a step ahead of the server's own: that step's code was never shown.
    ahead = issue_code(KEY, TASK, SHOWN + timedelta(seconds=60))
    with pytest.raises(BadCheckinCode):
        verify_code_at(KEY, TASK, ahead.code, SHOWN + timedelta(seconds=60), SHOWN)
    current = issue_code(KEY, TASK, SHOWN)
    assert verify_code_at(KEY, TASK, current.code, SHOWN + timedelta(seconds=60), SHOWN) == (
        current.step
    )


def test_another_tasks_code_is_no_good_offline_either() -> None:
    other = issue_code(KEY, TASK + 1, SHOWN)
    with pytest.raises(BadCheckinCode):
        verify_code_at(KEY, TASK, other.code, SHOWN, SHOWN)
