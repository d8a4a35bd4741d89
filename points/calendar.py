"""The local calendar: days, ISO weeks, months, quarters and years as people here live
them, in Beijing time.

Everything counted by the calendar (earning caps, redemption limits, leaderboard
periods, the day a visit counts for, quarterly reports) starts from ``local_date`` and
the spans here, so one moment falls in the same day, week or quarter whichever feature
asks. The zone has kept UTC+8 without daylight saving since 1991: every local day is
24 hours long, and a local midnight is 16:00 UTC the day before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
_ONE_DAY = timedelta(days=1)


def local_date(moment: datetime) -> date:
    """The local day an aware moment falls on."""
    return moment.astimezone(LOCAL_TIME).date()


def local_midnight(day: date) -> datetime:
    """The moment a local day begins, as an aware datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TIME)


def week_start(day: date) -> date:
    """The Monday of the day's ISO week."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def quarter_number(day: date) -> int:
    """1 for January to March, up to 4 for October to December."""
    return (day.month - 1) // 3 + 1


def quarter_start(day: date) -> date:
    return date(day.year, (quarter_number(day) - 1) * 3 + 1, 1)


def year_start(day: date) -> date:
    return date(day.year, 1, 1)


@dataclass(frozen=True, slots=True)
class Span:
    """Whole local days from ``first`` up to, not including, ``end``: a span and the
    next one share no day, and a moment falls in exactly one of them."""

    first: date
    end: date

    @property
    def last(self) -> date:
        return self.end - _ONE_DAY

    @property
    def starts_at(self) -> datetime:
        return local_midnight(self.first)

    @property
    def ends_at(self) -> datetime:
        """The first moment after the span, for half-open ranges of instants."""
        return local_midnight(self.end)

    def __contains__(self, day: date) -> bool:
        return self.first <= day < self.end


def day_of(day: date) -> Span:
    return Span(day, day + _ONE_DAY)


def week_of(day: date) -> Span:
    """The ISO week, Monday to Sunday; its days may lie in two calendar years."""
    first = week_start(day)
    return Span(first, first + timedelta(days=7))


def month_of(day: date) -> Span:
    first = month_start(day)
    return Span(first, _months_after(first, 1))


def quarter_of(day: date) -> Span:
    first = quarter_start(day)
    return Span(first, _months_after(first, 3))


def quarter(year: int, number: int) -> Span:
    """A quarter by its name, as a report asks for it: ``quarter(2026, 4)``."""
    if not 1 <= number <= 4:
        raise ValueError(f"a year has quarters 1 to 4, not {number}")
    return quarter_of(date(year, (number - 1) * 3 + 1, 1))


def year_of(day: date) -> Span:
    return Span(year_start(day), date(day.year + 1, 1, 1))


def _months_after(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def add_working_days(moment: datetime, days: int) -> datetime:
    """``days`` working days (Monday to Friday, local time) after ``moment``, at the same
    local time of day: Friday 17:00 plus one is Monday 17:00, and Saturday 10:00 plus
    one is Monday 10:00. Public holidays and the weekend days worked in their place
    (调休) are not known here, so a deadline over them counts them as ordinary days."""
    local = moment.astimezone(LOCAL_TIME)
    counted = 0
    while counted < days:
        local += _ONE_DAY
        if local.weekday() < 5:
            counted += 1
    return local.astimezone(moment.tzinfo)
