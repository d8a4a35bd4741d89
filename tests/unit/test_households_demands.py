"""The visit and demand life cycles, and the pure rules of the visit log."""

from datetime import UTC, date, datetime, timedelta

import pytest

from points.demands import DEMAND_TRANSITIONS, SERVABLE, DemandAction, DemandStatus
from points.errors import InvalidInput
from points.households import (
    VISIT_TRANSITIONS,
    VisitAction,
    VisitStatus,
    blocks_same_day,
    check_visit_time,
    visit_day,
)
from points.lifecycle import InvalidTransition, allowed_actions, transition

# Written out by hand, so the tests check the tables, not read them back.
VISIT_EDGES = {
    ("submitted", "confirm"): "confirmed",
    ("submitted", "reject"): "rejected",
}
DEMAND_EDGES = {
    ("submitted", "accept"): "accepted",
    ("submitted", "decline"): "declined",
    ("submitted", "merge"): "declined",
    ("accepted", "assign"): "assigned",
    ("accepted", "escalate"): "accepted",
    ("accepted", "close"): "closed",
    ("assigned", "assign"): "assigned",
    ("assigned", "start"): "in_progress",
    ("assigned", "resolve"): "resolved",
    ("assigned", "return"): "accepted",
    ("assigned", "escalate"): "accepted",
    ("in_progress", "assign"): "assigned",
    ("in_progress", "resolve"): "resolved",
    ("in_progress", "return"): "accepted",
    ("in_progress", "escalate"): "accepted",
    ("resolved", "verify"): "verified",
    ("resolved", "send_back"): "in_progress",
    ("verified", "publish"): "published",
    ("verified", "close"): "closed",
    ("published", "close"): "closed",
    ("verified", "reopen"): "resolved",
    ("published", "reopen"): "resolved",
    ("closed", "reopen"): "resolved",
    # 点单: the household confirms receipt in place of 核查.
    ("resolved", "confirm"): "closed",
}


@pytest.mark.parametrize("status", list(VisitStatus))
@pytest.mark.parametrize("action", list(VisitAction))
def test_every_visit_pair(status: VisitStatus, action: VisitAction) -> None:
    expected = VISIT_EDGES.get((status.value, action.value))
    if expected is None:
        with pytest.raises(InvalidTransition) as raised:
            transition(VISIT_TRANSITIONS, status, action)
        assert raised.value.code == "invalid_transition"
    else:
        assert transition(VISIT_TRANSITIONS, status, action) == VisitStatus(expected)


@pytest.mark.parametrize("status", list(DemandStatus))
@pytest.mark.parametrize("action", list(DemandAction))
def test_every_demand_pair(status: DemandStatus, action: DemandAction) -> None:
    expected = DEMAND_EDGES.get((status.value, action.value))
    if expected is None:
        with pytest.raises(InvalidTransition) as raised:
            transition(DEMAND_TRANSITIONS, status, action)
        assert raised.value.code == "invalid_transition"
    else:
        assert transition(DEMAND_TRANSITIONS, status, action) == DemandStatus(expected)


def test_declined_and_closed_demands_are_final_and_not_servable() -> None:
    assert allowed_actions(DEMAND_TRANSITIONS, DemandStatus.DECLINED) == []
    # A closed demand moves again only when a resident's low rating reopens it.
    assert allowed_actions(DEMAND_TRANSITIONS, DemandStatus.CLOSED) == [DemandAction.REOPEN]
    for final in (DemandStatus.DECLINED, DemandStatus.CLOSED):
        assert final not in SERVABLE
        assert not final.open
    assert {DemandStatus.ACCEPTED, DemandStatus.ASSIGNED, DemandStatus.IN_PROGRESS} == SERVABLE


def test_the_visit_day_is_the_local_day() -> None:
    # 23:30 UTC is already the next morning in Beijing.
    assert visit_day(datetime(2026, 11, 20, 23, 30, tzinfo=UTC)) == date(2026, 11, 21)
    assert visit_day(datetime(2026, 11, 20, 15, 59, tzinfo=UTC)) == date(2026, 11, 20)


NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def _logged_in_time(visited_at: datetime, now: datetime) -> bool:
    try:
        check_visit_time(visited_at, now)
    except InvalidInput:
        return False
    return True


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(0), True),
        (timedelta(minutes=9), True),  # a phone's clock a little ahead
        (timedelta(minutes=10), True),
        (timedelta(minutes=10, seconds=1), False),
        (-timedelta(hours=3), True),
        (-timedelta(days=7), True),
        (-timedelta(days=7, seconds=1), False),
    ],
)
def test_visits_logged_after_they_happen_within_a_week(offset: timedelta, accepted: bool) -> None:
    assert _logged_in_time(NOW + offset, NOW) is accepted


@pytest.mark.parametrize(
    ("offset", "why"),
    [(timedelta(minutes=11), "in the future"), (-timedelta(days=7, seconds=1), "days ago")],
)
def test_visits_in_the_future_or_long_ago_are_refused(offset: timedelta, why: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_visit_time(NOW + offset, NOW)
    assert why in raised.value.errors["visited_at"][0]  # type: ignore[index]


def test_only_a_rejected_visit_makes_room_for_another_that_day() -> None:
    assert blocks_same_day(VisitStatus.SUBMITTED)
    assert blocks_same_day(VisitStatus.CONFIRMED)
    assert not blocks_same_day(VisitStatus.REJECTED)
