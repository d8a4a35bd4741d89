"""Recurring tasks (周期任务): which local days a series falls on, and when each
occurrence starts and ends.

A series repeats weekly on given weekdays, or every N days, from its first date; it
ends on a date (``until``, inclusive) or after ``count`` occurrences, or runs until it
is ended by hand. Occurrences are numbered from the first date, so "the tenth one" is
the same day however often the dates are asked for, and for whatever stretch.

Times are local (Asia/Shanghai, see points.calendar): "every Tuesday at 19:00" is
19:00 Beijing time. The zone has no daylight saving, so every occurrence lasts exactly
its duration and the same wall time is the same UTC time all year.

A series' life is a transition table too: an active one may be ended, an ended one
stays ended (its occurrences to come are cancelled with it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType

from points.calendar import LOCAL_TIME
from points.errors import Conflict, InvalidInput

_ONE_DAY = timedelta(days=1)
_WEEK = 7

# Long enough for a year of weekly patrols every day of the week; a series longer than
# that is ended and posted again, so a typo can't plan a century of tasks.
MAX_COUNT = 366
MAX_SPAN = timedelta(days=3 * 366)
MAX_INTERVAL_DAYS = 365
# Far beyond any plan, and far enough inside ``date``'s range that day arithmetic on a
# series' dates never overflows.
LAST_DATE = date(2999, 12, 31)
MAX_DURATION = timedelta(hours=24)
DEFAULT_HORIZON_DAYS = 14


class Frequency(StrEnum):
    WEEKLY = "weekly"  # on given weekdays, every week
    EVERY_N_DAYS = "every_n_days"


class SeriesStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"  # by hand: no more occurrences, those to come cancelled


class SeriesAction(StrEnum):
    END = "end"


SERIES_TRANSITIONS: Mapping[tuple[SeriesStatus, SeriesAction], SeriesStatus] = MappingProxyType(
    {(SeriesStatus.ACTIVE, SeriesAction.END): SeriesStatus.ENDED}
)


class SeriesSignupStatus(StrEnum):
    """A member's standing sign-up for every occurrence of a series (报名整个系列)."""

    ACTIVE = "active"
    LEFT = "left"


class SeriesSignupAction(StrEnum):
    JOIN = "join"
    LEAVE = "leave"


SERIES_SIGNUP_TRANSITIONS: Mapping[
    tuple[SeriesSignupStatus, SeriesSignupAction], SeriesSignupStatus
] = MappingProxyType(
    {
        (SeriesSignupStatus.ACTIVE, SeriesSignupAction.LEAVE): SeriesSignupStatus.LEFT,
        (SeriesSignupStatus.LEFT, SeriesSignupAction.JOIN): SeriesSignupStatus.ACTIVE,
    }
)


class SeriesEnded(Conflict):
    code = "series_ended"


@dataclass(frozen=True)
class Recurrence:
    """When a series' occurrences fall. ``weekdays`` are 0 (Monday) to 6 (Sunday), for
    ``WEEKLY``; ``interval_days`` is for ``EVERY_N_DAYS``. At most one of ``until`` and
    ``count`` ends it."""

    frequency: Frequency
    first_date: date
    start_time: time  # local wall time
    duration: timedelta
    weekdays: frozenset[int] = frozenset()
    interval_days: int | None = None
    until: date | None = None
    count: int | None = None


def check_recurrence(rule: Recurrence) -> None:
    """Raise ``InvalidInput`` naming each field that makes no series."""
    errors: dict[str, list[str]] = {}
    if rule.frequency is Frequency.WEEKLY:
        if not rule.weekdays:
            errors["weekdays"] = ["at least one weekday for a weekly series"]
        elif not rule.weekdays <= frozenset(range(_WEEK)):
            errors["weekdays"] = ["0 (Monday) to 6 (Sunday)"]
        if rule.interval_days is not None:
            errors["interval_days"] = ["only for an every_n_days series"]
    else:
        if rule.interval_days is None or not 1 <= rule.interval_days <= MAX_INTERVAL_DAYS:
            errors["interval_days"] = [f"1 to {MAX_INTERVAL_DAYS} for an every_n_days series"]
        if rule.weekdays:
            errors["weekdays"] = ["only for a weekly series"]
    if not timedelta(minutes=1) <= rule.duration <= MAX_DURATION:
        errors["duration_minutes"] = ["1 minute to 24 hours"]
    if rule.start_time.tzinfo is not None:
        errors["start_time"] = ["a local wall time, without an offset"]
    if rule.until is not None and rule.count is not None:
        errors["until"] = ["end on a date or after a number of occurrences, not both"]
    if rule.until is not None:
        if rule.until < rule.first_date:
            errors["until"] = ["on or after first_date"]
        elif rule.until - rule.first_date > MAX_SPAN:
            errors["until"] = [f"at most {MAX_SPAN.days} days after first_date"]
    if rule.count is not None and not 1 <= rule.count <= MAX_COUNT:
        errors["count"] = [f"1 to {MAX_COUNT}"]
    if not errors and rule.until is not None and _before(rule, rule.until + _ONE_DAY) == 0:
        errors["until"] = ["no occurrence falls between first_date and until"]
    if errors:
        raise InvalidInput("this is not a series one can run", errors=errors)


def _falls_on(rule: Recurrence, day: date) -> bool:
    """Whether the pattern (ignoring the ends) has an occurrence on ``day``."""
    if day < rule.first_date:
        return False
    if rule.frequency is Frequency.WEEKLY:
        return day.weekday() in rule.weekdays
    assert rule.interval_days is not None
    return (day - rule.first_date).days % rule.interval_days == 0


def _before(rule: Recurrence, day: date) -> int:
    """How many occurrences of the pattern fall from the first date up to, not
    including, ``day``: by arithmetic, so an old series costs no walk from its start."""
    days = (day - rule.first_date).days
    if days <= 0:
        return 0
    if rule.frequency is Frequency.EVERY_N_DAYS:
        assert rule.interval_days is not None
        return -(-days // rule.interval_days)  # ceiling: day 0, n, 2n … before ``days``
    weeks, rest = divmod(days, _WEEK)
    first = rule.first_date.weekday()
    return weeks * len(rule.weekdays) + sum(
        (first + offset) % _WEEK in rule.weekdays for offset in range(rest)
    )


def occurrence_number(rule: Recurrence, day: date) -> int | None:
    """The occurrence's number (1 for the first) if the series falls on ``day``."""
    if not _falls_on(rule, day):
        return None
    number = _before(rule, day) + 1
    if rule.count is not None and number > rule.count:
        return None
    if rule.until is not None and day > rule.until:
        return None
    return number


def occurrence_dates(rule: Recurrence, first: date, last: date) -> Iterator[date]:
    """The days from ``first`` to ``last`` (both inclusive) the series falls on, in order."""
    day = max(first, rule.first_date)
    if rule.until is not None:
        last = min(last, rule.until)
    number = _before(rule, day)
    while day <= last:
        if _falls_on(rule, day):
            number += 1
            if rule.count is not None and number > rule.count:
                return
            yield day
        day += _ONE_DAY


def occurrence_window(rule: Recurrence, day: date) -> tuple[datetime, datetime]:
    """When the occurrence on local ``day`` starts and ends, as aware UTC moments."""
    starts = datetime.combine(day, rule.start_time, tzinfo=LOCAL_TIME)
    return starts.astimezone(UTC), (starts + rule.duration).astimezone(UTC)


def due_dates(rule: Recurrence, today: date, horizon_days: int) -> Iterator[date]:
    """The occurrences to have posted by ``today``: those from today up to
    ``horizon_days`` ahead (the past is never filled in)."""
    if horizon_days < 0:
        raise ValueError("a horizon looks ahead")
    return occurrence_dates(rule, today, today + timedelta(days=horizon_days))
