"""Leaderboard periods, keys and ranks: pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from points.calendar import local_date
from points.errors import InvalidInput
from points.leaderboard import (
    Period,
    Scope,
    ScopeKind,
    board_key,
    board_order,
    competition_ranks,
    day_in,
    labels_of,
    member_of,
    parse_board_key,
    parse_scope,
    period_of,
    recent_labels,
    user_of,
    utc_bounds,
)


def test_periods_are_beijing_days() -> None:
    # 16:30 UTC on Sunday 31 Dec 2023 is already Monday 1 Jan 2024 in Beijing.
    day = local_date(datetime(2023, 12, 31, 16, 30, tzinfo=UTC))
    assert day == date(2024, 1, 1)
    assert labels_of(day) == {
        Period.WEEK: "2024-W01",
        Period.MONTH: "2024-01",
        Period.QUARTER: "2024-Q1",
        Period.YEAR: "2024",
        Period.ALL: "all",
    }


def test_iso_weeks_cross_the_year() -> None:
    assert labels_of(date(2027, 1, 1))[Period.WEEK] == "2026-W53"
    assert labels_of(date(2026, 12, 28))[Period.WEEK] == "2026-W53"


@pytest.mark.parametrize("period", list(Period))
def test_a_label_names_the_period_it_came_from(period: Period) -> None:
    day = date(2026, 11, 22)
    label = labels_of(day)[period]
    assert period_of(label) is period
    assert labels_of(day_in(period, label, day))[period] == label


def test_utc_bounds_are_beijing_midnights() -> None:
    start, end = utc_bounds(Period.MONTH, date(2026, 11, 22))
    assert start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert utc_bounds(Period.ALL, date(2026, 11, 22)) == (None, None)


def test_recent_labels_newest_first() -> None:
    assert recent_labels(Period.QUARTER, date(2026, 2, 1), 3) == ["2026-Q1", "2025-Q4", "2025-Q3"]
    assert recent_labels(Period.WEEK, date(2026, 1, 1), 2) == ["2026-W01", "2025-W52"]
    assert recent_labels(Period.ALL, date(2026, 1, 1), 9) == ["all"]


def test_keys_share_a_hash_tag_and_parse_back() -> None:
    scope = Scope(ScopeKind.PLACE, 3)
    key = board_key("lx:", "jifen", scope, "2026-11")
    assert key == "lx:lb:{jifen:org:3:2026-11}"
    assert parse_board_key("lx:", key) == ("jifen", scope, "2026-11")
    assert parse_board_key("lx:", key + ":applied") is None
    assert parse_board_key("lx:", "lx:ratelimit/1") is None


def test_members_sort_backwards_as_user_ids_forwards() -> None:
    ids = [1, 9, 10, 123456, 99]
    assert [user_of(m) for m in sorted((member_of(i) for i in ids), reverse=True)] == sorted(ids)
    assert user_of(member_of(42).encode()) == 42


def test_competition_ranks_share_and_skip() -> None:
    ordered = list(board_order([(5, 30), (2, 50), (9, 30), (4, 10), (1, 30)]))
    assert ordered == [(2, 50), (1, 30), (5, 30), (9, 30), (4, 10)]
    assert [s.rank for s in competition_ranks(ordered)] == [1, 2, 2, 2, 5]


def test_a_window_that_starts_inside_a_tie() -> None:
    # Board: 50, 30, 30, 30, 10. A window from position 2 (the second 30) onward.
    window = competition_ranks([(5, 30), (9, 30), (4, 10)], offset=2, first_rank=2)
    assert [s.rank for s in window] == [2, 2, 5]


@pytest.mark.parametrize("text", ["", "org", "org:", "org:x", "place:3", "org:0", "org:-1"])
def test_bad_scopes_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_scope(text)


def test_scopes_parse() -> None:
    assert parse_scope("dept:7") == Scope(ScopeKind.DEPT, 7)
    assert str(parse_scope("branch:12")) == "branch:12"
