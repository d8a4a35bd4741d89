"""Recurring tasks: which local days a series falls on, when each occurrence runs, and
the series' life cycles as tables."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from points.calendar import LOCAL_TIME
from points.errors import Conflict, InvalidInput
from points.lifecycle import InvalidTransition, transition
from points.recurrence import (
    MAX_COUNT,
    SERIES_SIGNUP_TRANSITIONS,
    SERIES_TRANSITIONS,
    Frequency,
    Recurrence,
    SeriesAction,
    SeriesSignupAction,
    SeriesSignupStatus,
    SeriesStatus,
    check_recurrence,
    due_dates,
    occurrence_dates,
    occurrence_number,
    occurrence_window,
)

# A Monday.
MONDAY = date(2026, 3, 2)
PATROL = Recurrence(
    frequency=Frequency.WEEKLY,
    first_date=MONDAY,
    start_time=time(19, 0),
    duration=timedelta(hours=2),
    weekdays=frozenset({1, 3}),  # Tuesdays and Thursdays
)

# Written out, so a change to a table is a change to this test too.
SERIES_EDGES = {("active", "end"): "ended"}
SIGNUP_EDGES = {("active", "leave"): "left", ("left", "join"): "active"}


@pytest.mark.parametrize("state", list(SeriesStatus))
@pytest.mark.parametrize("action", list(SeriesAction))
def test_every_series_state_and_action(state: SeriesStatus, action: SeriesAction) -> None:
    expected = SERIES_EDGES.get((state.value, action.value))
    if expected is not None:
        assert transition(SERIES_TRANSITIONS, state, action) == SeriesStatus(expected)
    else:
        with pytest.raises(InvalidTransition) as raised:
            transition(SERIES_TRANSITIONS, state, action)
        assert raised.value.code == "invalid_transition"
        assert isinstance(raised.value, Conflict)


@pytest.mark.parametrize("state", list(SeriesSignupStatus))
@pytest.mark.parametrize("action", list(SeriesSignupAction))
def test_every_series_signup_state_and_action(
    state: SeriesSignupStatus, action: SeriesSignupAction
) -> None:
    expected = SIGNUP_EDGES.get((state.value, action.value))
    if expected is not None:
        assert transition(SERIES_SIGNUP_TRANSITIONS, state, action) == SeriesSignupStatus(expected)
    else:
        with pytest.raises(InvalidTransition) as raised:
            transition(SERIES_SIGNUP_TRANSITIONS, state, action)
        assert raised.value.code == "invalid_transition"


def test_weekly_on_given_weekdays() -> None:
    days = list(occurrence_dates(PATROL, MONDAY, MONDAY + timedelta(days=13)))
    assert days == [date(2026, 3, 3), date(2026, 3, 5), date(2026, 3, 10), date(2026, 3, 12)]
    assert [occurrence_number(PATROL, day) for day in days] == [1, 2, 3, 4]
    assert occurrence_number(PATROL, date(2026, 3, 4)) is None  # a Wednesday


def test_every_n_days_from_the_first_date() -> None:
    rule = replace(PATROL, frequency=Frequency.EVERY_N_DAYS, weekdays=frozenset(), interval_days=3)
    days = list(occurrence_dates(rule, MONDAY + timedelta(days=1), MONDAY + timedelta(days=9)))
    assert days == [MONDAY + timedelta(days=3), MONDAY + timedelta(days=6), MONDAY + timedelta(9)]
    assert occurrence_number(rule, MONDAY + timedelta(days=9)) == 4


def test_ends_after_a_count_or_on_a_date() -> None:
    counted = replace(PATROL, count=3)
    assert list(occurrence_dates(counted, MONDAY, MONDAY + timedelta(days=60))) == [
        date(2026, 3, 3),
        date(2026, 3, 5),
        date(2026, 3, 10),
    ]
    # Asked from later on, the count still runs from the first date.
    assert list(occurrence_dates(counted, date(2026, 3, 6), date(2026, 4, 30))) == [
        date(2026, 3, 10)
    ]
    assert occurrence_number(counted, date(2026, 3, 12)) is None
    dated = replace(PATROL, until=date(2026, 3, 10))
    assert list(occurrence_dates(dated, MONDAY, MONDAY + timedelta(days=60)))[-1] == date(
        2026, 3, 10
    )
    assert occurrence_number(dated, date(2026, 3, 12)) is None


def test_local_time_to_utc_without_daylight_saving() -> None:
    starts, ends = occurrence_window(PATROL, date(2026, 3, 3))
    assert starts == datetime(2026, 3, 3, 11, 0, tzinfo=UTC)  # 19:00 Beijing
    assert ends - starts == timedelta(hours=2)
    summer, _ = occurrence_window(PATROL, date(2026, 7, 7))
    assert summer.timetz().replace(tzinfo=None) == time(11, 0)  # the same all year
    late = replace(PATROL, start_time=time(7, 30))
    early, _ = occurrence_window(late, date(2026, 3, 3))
    assert early == datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # the day before, in UTC


def test_due_dates_look_ahead_from_today_only() -> None:
    today = date(2026, 3, 10)
    assert list(due_dates(PATROL, today, 7)) == [
        date(2026, 3, 10),
        date(2026, 3, 12),
        date(2026, 3, 17),
    ]
    assert list(due_dates(PATROL, today, 0)) == [today]
    with pytest.raises(ValueError, match="looks ahead"):
        list(due_dates(PATROL, today, -1))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"weekdays": frozenset()}, "weekdays"),
        ({"weekdays": frozenset({7})}, "weekdays"),
        ({"interval_days": 2}, "interval_days"),
        ({"duration": timedelta(0)}, "duration_minutes"),
        ({"duration": timedelta(hours=25)}, "duration_minutes"),
        ({"until": date(2026, 3, 1)}, "until"),
        ({"until": date(2026, 3, 2)}, "until"),  # a Monday: no Tuesday or Thursday by then
        ({"until": date(2030, 3, 2)}, "until"),
        ({"until": date(2026, 4, 1), "count": 3}, "until"),
        ({"count": 0}, "count"),
        ({"count": MAX_COUNT + 1}, "count"),
        ({"start_time": time(19, 0, tzinfo=LOCAL_TIME)}, "start_time"),
        (
            {"frequency": Frequency.EVERY_N_DAYS, "weekdays": frozenset(), "interval_days": 0},
            "interval_days",
        ),
        ({"frequency": Frequency.EVERY_N_DAYS, "interval_days": 2}, "weekdays"),
    ],
)
def test_a_bad_recurrence_names_its_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_recurrence(replace(PATROL, **changes))  # type: ignore[arg-type]
    assert field in raised.value.errors


def test_a_good_recurrence_passes() -> None:
    check_recurrence(PATROL)
    check_recurrence(replace(PATROL, until=date(2026, 3, 3)))
    check_recurrence(replace(PATROL, count=MAX_COUNT))


rules = st.builds(
    Recurrence,
    frequency=st.sampled_from(Frequency),
    first_date=st.dates(date(2025, 1, 1), date(2028, 12, 31)),
    start_time=st.times(),
    duration=st.integers(1, 24 * 60).map(lambda minutes: timedelta(minutes=minutes)),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    interval_days=st.integers(1, 30),
    until=st.none() | st.dates(date(2025, 1, 1), date(2030, 12, 31)),
    count=st.none() | st.integers(1, 60),
).map(
    lambda rule: (
        replace(rule, interval_days=None)
        if rule.frequency is Frequency.WEEKLY
        else replace(rule, weekdays=frozenset())
    )
)
spans = st.tuples(st.dates(date(2024, 12, 1), date(2030, 12, 31)), st.integers(0, 120))


@given(rules, spans)
def test_occurrences_are_the_pattern_numbered_from_the_first(
    rule: Recurrence, span: tuple[date, int]
) -> None:
    first, length = span
    last = first + timedelta(days=length)
    days = list(occurrence_dates(rule, first, last))
    assert days == sorted(set(days))
    walked = []  # the slow way: walk from the first date, numbering as we go
    day, number = rule.first_date, 0
    while day <= last:
        on = (
            day.weekday() in rule.weekdays
            if rule.frequency is Frequency.WEEKLY
            else (day - rule.first_date).days % (rule.interval_days or 1) == 0
        )
        if on:
            number += 1
            ended = (rule.count is not None and number > rule.count) or (
                rule.until is not None and day > rule.until
            )
            if not ended and day >= first:
                walked.append((day, number))
        day += timedelta(days=1)
    assert [(day, occurrence_number(rule, day)) for day in days] == walked


@given(rules, spans, st.integers(0, 120))
def test_two_stretches_give_the_days_of_the_whole(
    rule: Recurrence, span: tuple[date, int], cut: int
) -> None:
    first, length = span
    last = first + timedelta(days=length)
    middle = first + timedelta(days=min(cut, length))
    whole = list(occurrence_dates(rule, first, last))
    parts = list(occurrence_dates(rule, first, middle)) + list(
        occurrence_dates(rule, middle + timedelta(days=1), last)
    )
    assert parts == whole


@given(rules, st.dates(date(2025, 1, 1), date(2030, 12, 31)))
def test_each_occurrence_starts_at_its_local_wall_time(rule: Recurrence, day: date) -> None:
    starts, ends = occurrence_window(rule, day)
    local = starts.astimezone(LOCAL_TIME)
    assert (local.date(), local.time()) == (day, rule.start_time)
    assert ends - starts == rule.duration
    assert starts.utcoffset() == timedelta(0)
