"""补录: the pure rules of work entered after the fact — the cap at the task's length,
evidence required, and the threshold above which a second staff member approves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from points.lifecycle import InvalidTransition, transition
from points.tasks import (
    PARTICIPATION_TRANSITIONS,
    EvidenceRequired,
    HoursAboveTaskLength,
    ParticipationAction,
    ParticipationStatus,
    check_evidence,
    check_manual_hours,
    needs_second_staff,
    task_length_hours,
)

START = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
END = datetime(2025, 3, 5, 11, 30, tzinfo=UTC)

# Where recording by hand may start, written out by hand (see test_tasks.py for the
# whole table): every other state refuses it.
RECORDABLE = {
    ParticipationStatus.SIGNED_UP,
    ParticipationStatus.CANCELLED,
    ParticipationStatus.NO_SHOW,
    ParticipationStatus.EXCUSED,
}


@pytest.mark.parametrize("state", list(ParticipationStatus))
def test_recording_by_hand_leads_to_submitted_only_from_a_seat_never_used(
    state: ParticipationStatus,
) -> None:
    action = ParticipationAction.RECORD_MANUALLY
    if state in RECORDABLE:
        assert transition(PARTICIPATION_TRANSITIONS, state, action) is ParticipationStatus.SUBMITTED
    else:
        with pytest.raises(InvalidTransition) as refused:
            transition(PARTICIPATION_TRANSITIONS, state, action)
        assert refused.value.code == "invalid_transition"
        assert refused.value.target is ParticipationStatus.SUBMITTED


def test_the_task_length_caps_the_hours() -> None:
    assert task_length_hours(START, END) == Decimal("2.50")
    check_manual_hours(Decimal("2.5"), START, END)
    with pytest.raises(HoursAboveTaskLength) as refused:
        check_manual_hours(Decimal("2.51"), START, END)
    assert refused.value.code == "hours_above_task_length"
    assert refused.value.errors == {"hours": ["at most 2.50"]}


@pytest.mark.parametrize(
    ("note", "photos", "enough"),
    [("", [], False), ("  ", [], False), ("社区书记现场见证", [], True), ("", [7], True)],
)
def test_evidence_is_a_note_or_photos(note: str, photos: list[int], enough: bool) -> None:
    if enough:
        check_evidence(note, photos)
    else:
        with pytest.raises(EvidenceRequired) as refused:
            check_evidence(note, photos)
        assert refused.value.code == "evidence_required"


@pytest.mark.parametrize(
    ("hours", "units", "second"),
    [
        ("0.5", None, False),
        ("4", None, False),
        ("4.00", 10, False),
        ("4.01", None, True),
        ("0.5", 11, True),  # counted work is priced per unit: many units weigh too
    ],
)
def test_a_second_staff_member_above_the_threshold_only(
    hours: str, units: int | None, second: bool
) -> None:
    assert needs_second_staff(Decimal(hours), units, Decimal(4), 10) is second


def test_entered_hours_are_capped_at_what_has_run_by_now() -> None:
    check_manual_hours(Decimal("1"), START, END, START + timedelta(hours=1))
    with pytest.raises(HoursAboveTaskLength) as refused:
        check_manual_hours(Decimal("1.01"), START, END, START + timedelta(hours=1))
    assert refused.value.errors == {"hours": ["at most 1.00"]}
