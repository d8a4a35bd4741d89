from __future__ import annotations

from datetime import UTC, datetime
from itertools import product

import pytest

from points.errors import InvalidInput, NotFound
from points.lifecycle import InvalidTransition
from points.redemption import (
    PICKUP_ALPHABET,
    PICKUP_CODE_LENGTH,
    REDEMPTION_TRANSITIONS,
    LimitPeriod,
    LimitReached,
    RedemptionAction,
    RedemptionStatus,
    TooManyOpenHolds,
    check_limit,
    check_open_holds,
    derive_qr_key,
    new_pickup_code,
    normalise_pickup_code,
    period_start,
    read_qr_payload,
    redemption_transition,
    sign_qr_payload,
)

KEY = derive_qr_key("test-secret")


@pytest.mark.parametrize(
    ("status", "action"), list(product(RedemptionStatus, RedemptionAction)), ids=str
)
def test_only_a_held_redemption_moves_and_each_action_once(
    status: RedemptionStatus, action: RedemptionAction
) -> None:
    expected = {
        RedemptionAction.PICK_UP: RedemptionStatus.FULFILLED,
        RedemptionAction.CANCEL: RedemptionStatus.CANCELLED,
        RedemptionAction.EXPIRE: RedemptionStatus.EXPIRED,
    }[action]
    if status is RedemptionStatus.HELD:
        assert redemption_transition(status, action) is expected
    else:
        with pytest.raises(InvalidTransition):
            redemption_transition(status, action)
    assert len(REDEMPTION_TRANSITIONS) == 3


def test_pickup_codes_are_six_unambiguous_digits() -> None:
    codes = {new_pickup_code() for _ in range(500)}
    assert len(codes) > 490  # random, not a counter
    for code in codes:
        assert len(code) == PICKUP_CODE_LENGTH
        assert set(code) <= set(PICKUP_ALPHABET)
        assert not set(code) & {"0", "1"}


@pytest.mark.parametrize("typed", ["234567", " 234 567 ", "234-567"])
def test_a_typed_code_is_read_without_spaces_or_dashes(typed: str) -> None:
    assert normalise_pickup_code(typed) == "234567"


@pytest.mark.parametrize("typed", ["", "23456", "2345678", "234501", "abcdef", "２３４５６７"])
def test_anything_else_is_not_a_pickup_code(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_pickup_code(typed)
    assert "pickup_code" in refused.value.errors


def test_a_signed_qr_reads_back_and_a_changed_one_names_nothing() -> None:
    payload = sign_qr_payload(KEY, 42, 7, "234567")
    assert read_qr_payload(KEY, payload) == (42, 7, "234567")
    forged = [
        payload.replace("lxr.42.", "lxr.43."),
        payload.replace(".7.", ".8."),
        payload.replace("234567", "234568"),
        payload[:-1] + ("0" if payload[-1] != "0" else "1"),
        "lxr.42.7.234567",
        "x" * 500,
    ]
    for bad in forged:
        with pytest.raises(NotFound):
            read_qr_payload(KEY, bad)
    with pytest.raises(NotFound):
        read_qr_payload(derive_qr_key("another secret"), payload)


@pytest.mark.parametrize(
    ("period", "start"),
    [
        (LimitPeriod.DAY, "2026-03-18T00:00:00+08:00"),
        (LimitPeriod.WEEK, "2026-03-16T00:00:00+08:00"),  # Monday
        (LimitPeriod.MONTH, "2026-03-01T00:00:00+08:00"),
        (LimitPeriod.YEAR, "2026-01-01T00:00:00+08:00"),
    ],
)
def test_limit_windows_are_calendar_periods_in_beijing_time(
    period: LimitPeriod, start: str
) -> None:
    # 17:30 UTC on Tuesday 17 March is already Wednesday 18 March in Beijing.
    now = datetime(2026, 3, 17, 17, 30, tzinfo=UTC)
    assert period_start(now, period) == datetime.fromisoformat(start)


def test_a_naive_time_has_no_window() -> None:
    with pytest.raises(ValueError, match="timezone"):
        period_start(datetime(2026, 3, 17), LimitPeriod.DAY)  # noqa: DTZ001 - the point


def test_the_limit_counts_what_was_taken_this_period() -> None:
    check_limit(0, 2, 2, LimitPeriod.MONTH)
    check_limit(1, 1, 2, LimitPeriod.MONTH)
    check_limit(50, 50, None, LimitPeriod.MONTH)
    with pytest.raises(LimitReached, match="1 left"):
        check_limit(1, 2, 2, LimitPeriod.MONTH)


def test_open_holds_are_capped() -> None:
    check_open_holds(5, 5)
    with pytest.raises(TooManyOpenHolds):
        check_open_holds(6, 5)
