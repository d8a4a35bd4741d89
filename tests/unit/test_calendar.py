"""The local calendar: every date and moment here is written out, none is today's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from points.calendar import (
    LOCAL_TIME,
    Span,
    day_of,
    local_date,
    local_midnight,
    month_of,
    month_start,
    quarter,
    quarter_number,
    quarter_of,
    quarter_start,
    week_of,
    week_start,
    year_of,
    year_start,
)


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        # Beijing's midnight is 16:00 UTC the day before.
        (datetime(2026, 3, 17, 15, 59, 59, 999_999, tzinfo=UTC), date(2026, 3, 17)),
        (datetime(2026, 3, 17, 16, 0, tzinfo=UTC), date(2026, 3, 18)),
        # UTC's midnight is 08:00 in Beijing, well inside the same local day.
        (datetime(2026, 3, 18, 0, 0, tzinfo=UTC), date(2026, 3, 18)),
        # The year turns in Beijing eight hours before it does in UTC.
        (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), date(2027, 1, 1)),
        # The offset a moment is written in doesn't matter, only the instant.
        (datetime(2026, 3, 17, 12, 30, tzinfo=timezone(timedelta(hours=-5))), date(2026, 3, 18)),
    ],
)
def test_the_local_day_of_a_moment(moment: datetime, day: date) -> None:
    assert local_date(moment) == day


def test_a_local_midnight_is_sixteen_hundred_utc_the_day_before() -> None:
    midnight = local_midnight(date(2027, 1, 1))
    assert midnight.tzinfo is LOCAL_TIME
    assert midnight == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert local_date(midnight) == date(2027, 1, 1)
    assert local_date(midnight - timedelta(microseconds=1)) == date(2026, 12, 31)


@pytest.mark.parametrize("month", range(1, 13))
def test_no_daylight_saving_every_local_day_is_24_hours(month: int) -> None:
    # Months where zones with summer time shift (March, April, October, November) included.
    for day in (1, 8, 15, 22, 28):
        start = local_midnight(date(2026, month, day))
        assert start.utcoffset() == timedelta(hours=8)
        span = day_of(start.date())
        assert span.ends_at - span.starts_at == timedelta(hours=24)


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        (date(2026, 3, 16), date(2026, 3, 16)),  # a Monday is its own week's start
        (date(2026, 3, 22), date(2026, 3, 16)),  # Sunday closes the ISO week
        (date(2027, 1, 1), date(2026, 12, 28)),  # 2026-W53 runs into 2027
        (date(2027, 1, 3), date(2026, 12, 28)),
        (date(2027, 1, 4), date(2027, 1, 4)),  # 2027-W01
        (date(2025, 12, 31), date(2025, 12, 29)),  # 2026-W01 starts in 2025
    ],
)
def test_weeks_start_on_monday_across_the_year(day: date, monday: date) -> None:
    assert week_start(day) == monday
    week = week_of(day)
    assert (week.first, week.last) == (monday, monday + timedelta(days=6))
    assert week.first.isocalendar().week == day.isocalendar().week


def test_iso_week_53_belongs_to_the_year_it_began_in() -> None:
    week = week_of(date(2027, 1, 2))
    assert week.first.isocalendar()[:2] == (2026, 53)
    assert date(2026, 12, 31) in week
    assert date(2027, 1, 3) in week
    assert date(2027, 1, 4) not in week


@pytest.mark.parametrize(
    ("day", "number", "first", "end"),
    [
        (date(2026, 1, 1), 1, date(2026, 1, 1), date(2026, 4, 1)),
        (date(2026, 3, 31), 1, date(2026, 1, 1), date(2026, 4, 1)),
        (date(2026, 4, 1), 2, date(2026, 4, 1), date(2026, 7, 1)),
        (date(2026, 6, 30), 2, date(2026, 4, 1), date(2026, 7, 1)),
        (date(2026, 7, 1), 3, date(2026, 7, 1), date(2026, 10, 1)),
        (date(2026, 9, 30), 3, date(2026, 7, 1), date(2026, 10, 1)),
        (date(2026, 10, 1), 4, date(2026, 10, 1), date(2027, 1, 1)),
        (date(2026, 12, 31), 4, date(2026, 10, 1), date(2027, 1, 1)),
    ],
)
def test_quarters(day: date, number: int, first: date, end: date) -> None:
    assert quarter_number(day) == number
    assert quarter_start(day) == first
    assert quarter_of(day) == Span(first, end)
    assert quarter(day.year, number) == Span(first, end)


def test_a_quarter_turns_at_beijing_midnight_not_utcs() -> None:
    # 17:00 UTC on 31 March is 01:00 on 1 April in Beijing: the second quarter.
    moment = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
    assert quarter_number(local_date(moment)) == 2
    q2 = quarter(2026, 2)
    assert q2.starts_at == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert q2.ends_at == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    assert q2.last == date(2026, 6, 30)


@pytest.mark.parametrize("number", [0, 5, -1])
def test_a_year_has_four_quarters(number: int) -> None:
    with pytest.raises(ValueError, match="quarters 1 to 4"):
        quarter(2026, number)


def test_quarters_follow_each_other_through_the_year() -> None:
    spans = [quarter(2026, number) for number in range(1, 5)]
    assert spans[0].first == date(2026, 1, 1)
    assert spans[-1].end == date(2027, 1, 1)
    for earlier, later in pairwise(spans):
        assert earlier.end == later.first
    assert sum((span.end - span.first).days for span in spans) == 365


@pytest.mark.parametrize(
    ("day", "first", "end"),
    [
        (date(2026, 1, 31), date(2026, 1, 1), date(2026, 2, 1)),
        (date(2028, 2, 29), date(2028, 2, 1), date(2028, 3, 1)),  # a leap February
        (date(2026, 12, 15), date(2026, 12, 1), date(2027, 1, 1)),  # December into January
    ],
)
def test_months(day: date, first: date, end: date) -> None:
    assert month_start(day) == first
    assert month_of(day) == Span(first, end)


def test_years() -> None:
    assert year_start(date(2026, 7, 4)) == date(2026, 1, 1)
    assert year_of(date(2026, 12, 31)) == Span(date(2026, 1, 1), date(2027, 1, 1))
    assert year_of(date(2028, 6, 1)).last == date(2028, 12, 31)


def test_a_span_is_half_open() -> None:
    month = month_of(date(2026, 11, 22))
    assert date(2026, 11, 1) in month
    assert date(2026, 11, 30) in month
    assert date(2026, 12, 1) not in month
    assert date(2026, 10, 31) not in month
    assert month.starts_at == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert month.ends_at == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert day_of(date(2026, 11, 30)) == Span(date(2026, 11, 30), date(2026, 12, 1))
