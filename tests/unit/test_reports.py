"""The report's plain values: scopes, periods, the period before, changes, sorting."""

from __future__ import annotations

from datetime import date

import pytest

from points.calendar import Span, quarter
from points.errors import InvalidInput
from points.reports import (
    FIGURES,
    Scope,
    ScopeKind,
    SortOrder,
    changes,
    parse_quarter,
    parse_scope,
    period_name,
    previous_period,
    report_period,
    sort_rows,
)


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("org:12", Scope(ScopeKind.PLACE, 12)),
        ("branch:3", Scope(ScopeKind.BRANCH, 3)),
        (" dept:7 ", Scope(ScopeKind.DEPARTMENT, 7)),
    ],
)
def test_a_scope_is_read_from_its_text(text: str, scope: Scope) -> None:
    assert parse_scope(text) == scope
    assert str(scope) == text.strip()


@pytest.mark.parametrize("text", ["org", "org:", "org:0", "org:-1", "place:1", "org:1:2", "ORG:1"])
def test_other_scopes_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_scope(text)


def test_quarters_by_name() -> None:
    assert parse_quarter("2026Q4") == Span(date(2026, 10, 1), date(2027, 1, 1))
    assert parse_quarter("2026q1") == quarter(2026, 1)
    for wrong in ("2026Q5", "2026-4", "Q4"):
        with pytest.raises(InvalidInput):
            parse_quarter(wrong)


def test_the_period_defaults_to_the_quarter_and_takes_either_end() -> None:
    today = date(2026, 11, 16)
    assert report_period(today, None, None) == quarter(2026, 4)
    assert report_period(today, date(2026, 11, 1), None) == Span(
        date(2026, 11, 1), date(2027, 1, 1)
    )
    assert report_period(today, None, date(2026, 8, 15)) == Span(
        date(2026, 7, 1), date(2026, 8, 16)
    )
    assert report_period(today, date(2026, 5, 5), date(2026, 5, 5)) == Span(
        date(2026, 5, 5), date(2026, 5, 6)
    )
    with pytest.raises(InvalidInput):
        report_period(today, date(2026, 5, 6), date(2026, 5, 5))
    with pytest.raises(InvalidInput):
        report_period(today, date(2020, 1, 1), date(2026, 5, 5))


def test_the_period_before() -> None:
    assert previous_period(quarter(2026, 1)) == quarter(2025, 4)
    assert previous_period(Span(date(2026, 10, 10), date(2026, 10, 21))) == Span(
        date(2026, 9, 29), date(2026, 10, 10)
    )
    assert period_name(quarter(2026, 4)) == "2026年第4季度"
    assert period_name(Span(date(2026, 10, 10), date(2026, 10, 21))) == "2026-10-10至2026-10-20"


def test_changes_leave_a_rate_over_nothing_unknown() -> None:
    moved = changes(
        {"volunteer_hours": 8.5, "acknowledge_rate": 0.5, "tasks_published": 3},
        {"volunteer_hours": 2.25, "acknowledge_rate": None, "tasks_published": 5},
    )
    assert moved["volunteer_hours"] == 6.25
    assert moved["tasks_published"] == -2
    assert moved["acknowledge_rate"] is None
    assert set(moved) == set(FIGURES)


def test_rows_sort_by_a_figure_with_the_unknown_last() -> None:
    rows = ["a", "b", "c", "d"]
    figures = [{"average_rating": 4.0}, {"average_rating": None}, {"average_rating": 5.0}, {}]
    assert sort_rows(rows, figures, "average_rating", SortOrder.DESC) == ["c", "a", "b", "d"]
    assert sort_rows(rows, figures, "average_rating", SortOrder.ASC) == ["a", "c", "b", "d"]
    with pytest.raises(InvalidInput):
        sort_rows(rows, figures, "nonsense", SortOrder.ASC)
