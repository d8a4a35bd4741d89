"""代办 rules with no database: the link's life cycle, every pair of it, and when a
link lets its proxy act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from points.errors import InvalidInput
from points.lifecycle import InvalidTransition, transition
from points.proxies import (
    LINK_TRANSITIONS,
    LinkAction,
    LinkStatus,
    check_link_span,
    check_not_self,
    runs_at,
)

LINK_EDGES = {("active", "end"): "ended"}
NOON = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize("status", list(LinkStatus))
@pytest.mark.parametrize("action", list(LinkAction))
def test_every_link_pair(status: LinkStatus, action: LinkAction) -> None:
    expected = LINK_EDGES.get((status.value, action.value))
    if expected is None:
        with pytest.raises(InvalidTransition) as raised:
            transition(LINK_TRANSITIONS, status, action)
        assert raised.value.code == "invalid_transition"
    else:
        assert transition(LINK_TRANSITIONS, status, action) == LinkStatus(expected)


def test_the_table_is_the_edges_written_here() -> None:
    assert {(s.value, a.value): t.value for (s, a), t in LINK_TRANSITIONS.items()} == LINK_EDGES


@pytest.mark.parametrize(
    ("status", "starts_at", "ends_at", "runs"),
    [
        (LinkStatus.ACTIVE, NOON - HOUR, None, True),
        (LinkStatus.ACTIVE, NOON, NOON + HOUR, True),  # from its first moment
        (LinkStatus.ACTIVE, NOON + HOUR, None, False),  # not yet
        (LinkStatus.ACTIVE, NOON - 2 * HOUR, NOON, False),  # over at its end
        (LinkStatus.ENDED, NOON - HOUR, None, False),
    ],
)
def test_a_link_runs_from_its_start_until_its_end_unless_ended(
    status: LinkStatus, starts_at: datetime, ends_at: datetime | None, runs: bool
) -> None:
    assert runs_at(status, starts_at, ends_at, NOON) is runs


def test_a_link_ends_after_it_starts_and_nobody_acts_for_themselves() -> None:
    check_link_span(NOON, None)
    check_link_span(NOON, NOON + HOUR)
    with pytest.raises(InvalidInput):
        check_link_span(NOON, NOON)
    with pytest.raises(InvalidInput):
        check_not_self(7, 7)
    check_not_self(7, 8)
