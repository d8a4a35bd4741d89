"""The no-show policy as a pure rule: which no-shows lie in the rolling window, when a
block clears, the nearest policy up the tree, and "off"."""

from datetime import UTC, datetime, timedelta

import pytest

from points.errors import Conflict, InvalidInput
from points.no_shows import (
    DEFAULT_POLICY,
    NoShowPolicy,
    TooManyNoShows,
    blocked_until,
    check_may_sign_up,
    nearest_policy,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
POLICY = NoShowPolicy(limit=3, window_days=90)


def days_ago(*days: float) -> list[datetime]:
    return [NOW - timedelta(days=d) for d in days]


def test_the_default_is_three_in_ninety_days() -> None:
    assert (DEFAULT_POLICY.limit, DEFAULT_POLICY.window_days, DEFAULT_POLICY.active) == (
        3,
        90,
        True,
    )


@pytest.mark.parametrize(
    ("no_shows", "clears_at"),
    [
        ([], None),
        (days_ago(1, 2), None),  # two are under the limit
        # Three in the window: open again once the oldest of them leaves it.
        (days_ago(1, 2, 80), NOW - timedelta(days=80) + timedelta(days=90)),
        # Four: the third most recent decides, the oldest leaving changes nothing.
        (days_ago(1, 2, 10, 80), NOW - timedelta(days=10) + timedelta(days=90)),
        # One exactly a window ago has just left it.
        (days_ago(1, 2, 90), None),
        (days_ago(1, 2, 200), None),
    ],
)
def test_blocked_while_the_limit_lies_in_the_window(
    no_shows: list[datetime], clears_at: datetime | None
) -> None:
    assert blocked_until(POLICY, no_shows, NOW) == clears_at


def test_the_block_rolls_off_exactly_when_it_said() -> None:
    no_shows = days_ago(5, 6, 7)
    clears_at = blocked_until(POLICY, no_shows, NOW)
    assert clears_at == NOW + timedelta(days=83)
    assert blocked_until(POLICY, no_shows, clears_at - timedelta(microseconds=1)) == clears_at
    assert blocked_until(POLICY, no_shows, clears_at) is None


def test_an_off_policy_blocks_nobody() -> None:
    off = NoShowPolicy(limit=1, window_days=30, active=False)
    assert blocked_until(off, days_ago(1, 2, 3), NOW) is None
    check_may_sign_up(off, days_ago(1, 2, 3), NOW)


def test_a_block_is_a_conflict_that_says_when_it_clears() -> None:
    with pytest.raises(TooManyNoShows) as raised:
        check_may_sign_up(NoShowPolicy(limit=1, window_days=30), days_ago(10), NOW)
    error = raised.value
    assert isinstance(error, Conflict)
    assert error.code == "too_many_no_shows"
    assert error.clears_at == NOW + timedelta(days=20)
    assert error.errors == {"clears_at": error.clears_at.isoformat()}
    assert error.clears_at.isoformat() in error.message


def test_the_nearest_policy_up_the_tree_applies() -> None:
    street, community = NoShowPolicy(2, 30), NoShowPolicy(5, 60, active=False)
    kept = {1: street, 2: community}
    assert nearest_policy(kept, [9, 2, 1]) is community  # grid 9 in community 2
    assert nearest_policy(kept, [8, 1]) is street
    assert nearest_policy(kept, [7]) is DEFAULT_POLICY


@pytest.mark.parametrize(
    ("limit", "days", "field"),
    [
        (0, 30, "max_no_shows"),
        (101, 30, "max_no_shows"),
        (3, 0, "window_days"),
        (3, 367, "window_days"),
    ],
)
def test_a_policy_out_of_range_is_bad_input(limit: int, days: int, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        NoShowPolicy(limit, days)
    assert field in raised.value.errors
