"""Rotating check-in codes: stable within a step, bound to a task, short-lived."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from points.checkin_code import (
    MAX_TASK_ID,
    SCENE_MAX_LENGTH,
    BadCheckinCode,
    check_not_replayed,
    derive_key,
    issue_code,
    parse_scene,
    verify_code,
)
from points.errors import Conflict, InvalidInput

KEY = derive_key("test-app-secret")
TASK = 812
# The start of a step (a multiple of 60 s since the epoch), so offsets are easy to read.
STEP_START = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return STEP_START + timedelta(seconds=seconds)


def test_a_code_is_six_digits_and_stable_within_its_step() -> None:
    first = issue_code(KEY, TASK, at(0))
    assert len(first.code) == 6
    assert first.code.isdigit()
    for seconds in (1, 30, 59.999):
        assert issue_code(KEY, TASK, at(seconds)) == first


def test_the_code_changes_with_the_step() -> None:
    codes = {issue_code(KEY, TASK, at(60 * n)).code for n in range(20)}
    assert len(codes) >= 19  # a repeat is a one-in-a-million coincidence per pair


def test_the_code_depends_on_task_and_key() -> None:
    code = issue_code(KEY, TASK, at(0)).code
    assert issue_code(KEY, TASK + 1, at(0)).code != code
    assert issue_code(derive_key("another-secret"), TASK, at(0)).code != code


def test_issue_reports_the_step_and_when_it_refreshes_and_expires() -> None:
    issued = issue_code(KEY, TASK, at(25))
    assert issued.step == int(STEP_START.timestamp()) // 60
    assert issued.refresh_at == at(60)
    assert issued.expires_at == at(120)


@pytest.mark.parametrize("seconds", [0, 59.999, 60, 119.999])
def test_accepted_in_its_own_step_and_the_next(seconds: float) -> None:
    issued = issue_code(KEY, TASK, at(0))
    assert verify_code(KEY, TASK, issued.code, at(seconds)) == issued.step


@pytest.mark.parametrize("seconds", [120, 180, 3600])
def test_rejected_once_expired(seconds: float) -> None:
    issued = issue_code(KEY, TASK, at(0))
    assert at(seconds) >= issued.expires_at
    with pytest.raises(BadCheckinCode) as raised:
        verify_code(KEY, TASK, issued.code, at(seconds))
    assert raised.value.code == "bad_checkin_code"
    assert isinstance(raised.value, Conflict)


def test_a_code_from_the_future_is_rejected() -> None:
    # Codes come from the server's own clock, so none can be ahead of it.
    later = issue_code(KEY, TASK, at(60))
    with pytest.raises(BadCheckinCode):
        verify_code(KEY, TASK, later.code, at(59))


def test_rejected_for_another_task() -> None:
    issued = issue_code(KEY, TASK, at(0))
    with pytest.raises(BadCheckinCode):
        verify_code(KEY, TASK + 1, issued.code, at(0))


def test_rejected_under_another_key() -> None:
    issued = issue_code(KEY, TASK, at(0))
    with pytest.raises(BadCheckinCode):
        verify_code(derive_key("another-secret"), TASK, issued.code, at(0))


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", " 12345", "١٢٣٤٥٦", "¹²³⁴⁵⁶"])
def test_malformed_codes_are_bad_codes(code: str) -> None:
    with pytest.raises(BadCheckinCode):
        verify_code(KEY, TASK, code, at(0))


def test_a_wrong_code_is_rejected() -> None:
    right = issue_code(KEY, TASK, at(0)).code
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with pytest.raises(BadCheckinCode):
        verify_code(KEY, TASK, wrong, at(0))


def test_the_current_step_is_returned_when_verifying_a_fresh_code() -> None:
    issued = issue_code(KEY, TASK, at(90))
    assert verify_code(KEY, TASK, issued.code, at(90)) == issued.step


def test_a_step_is_accepted_once_per_participation() -> None:
    step = verify_code(KEY, TASK, issue_code(KEY, TASK, at(0)).code, at(10))
    check_not_replayed(step, None)
    for replayed in (step, step - 1):
        with pytest.raises(BadCheckinCode) as raised:
            check_not_replayed(replayed, step)
        assert "already" in raised.value.message
    check_not_replayed(step + 1, step)  # check-out with the next code is fine


def test_other_time_zones_give_the_same_code() -> None:
    beijing = timezone(timedelta(hours=8))
    assert issue_code(KEY, TASK, at(0).astimezone(beijing)) == issue_code(KEY, TASK, at(0))


def test_naive_datetimes_are_a_programming_error() -> None:
    naive = datetime(2025, 3, 5, 9, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        issue_code(KEY, TASK, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_code(KEY, TASK, "123456", naive)


@pytest.mark.parametrize("task_id", [0, -1, MAX_TASK_ID + 1])
def test_task_ids_out_of_range_are_a_programming_error(task_id: int) -> None:
    with pytest.raises(ValueError, match="task id"):
        issue_code(KEY, task_id, at(0))


@pytest.mark.parametrize("task_id", [1, 9, 812, 10**9, MAX_TASK_ID])
def test_the_scene_fits_a_mini_program_qr_and_round_trips(task_id: int) -> None:
    issued = issue_code(KEY, task_id, at(0))
    assert len(issued.scene) <= SCENE_MAX_LENGTH
    assert parse_scene(issued.scene) == (task_id, issued.code)
    assert verify_code(KEY, task_id, parse_scene(issued.scene)[1], at(30)) == issued.step


def test_the_scene_for_a_billionth_task() -> None:
    scene = issue_code(KEY, 10**9, at(0)).scene
    assert scene.startswith("t1000000000.")
    assert len(scene) == 18


@pytest.mark.parametrize(
    "scene",
    [
        "",
        "t",
        "t812",
        "t812.",
        "t812.12345",
        "t812.1234567",
        "t0.123456",
        "t0812.123456",
        "t-1.123456",
        "812.123456",
        "T812.123456",
        "t812.123456\n",
        " t812.123456",
        "t812:123456",
        "t812.12345a",
        "t١٢.123456",
        f"t{MAX_TASK_ID + 1}.123456",
        "t" + "9" * 40 + ".123456",
    ],
)
def test_junk_scenes_are_invalid_input(scene: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_scene(scene)
    assert raised.value.code == "invalid_input"
    assert "code" in raised.value.errors


def test_the_key_is_derived_not_the_secret_itself() -> None:
    assert len(KEY) == 32
    assert KEY != b"test-app-secret"
    assert derive_key("test-app-secret") == KEY
