"""服务星级与徽章 as pure functions: the ladder read from its setting, the level at and
around each threshold, each badge earned exactly at its goal, and twelve months running
across a new year."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from points.achievements import (
    BADGES,
    DEFAULT_LEVELS,
    BadgeCode,
    BadgeProgress,
    LadderError,
    Level,
    Service,
    badges,
    parse_levels,
    standing,
)

LADDER = parse_levels(DEFAULT_LEVELS)
DAY = date(2025, 3, 1)


def service(
    number: int, hours: str = "2.00", kind: str = "patrol", day: date | None = None
) -> Service:
    return Service(number, kind, day or DAY + timedelta(days=number), Decimal(hours))


def earned(found: list[BadgeProgress], code: BadgeCode) -> date | None:
    return next(b.earned_on for b in found if b.rule.code is code)


def progress(found: list[BadgeProgress], code: BadgeCode) -> Decimal:
    return next(b.progress for b in found if b.rule.code is code)


def test_the_default_ladder_is_the_five_stars() -> None:
    assert [(lv.rank, lv.name, lv.threshold) for lv in LADDER] == [
        (1, "一星", Decimal(100)),
        (2, "二星", Decimal(300)),
        (3, "三星", Decimal(600)),
        (4, "四星", Decimal(1000)),
        (5, "五星", Decimal(1500)),
    ]


def test_a_ladder_reads_names_and_hours_with_spaces_and_hundredths() -> None:
    assert parse_levels(" 铜牌 : 10.5 , 银牌:20") == (
        Level(1, "铜牌", Decimal("10.50")),
        Level(2, "银牌", Decimal("20.00")),
    )


@pytest.mark.parametrize(
    "text",
    [
        "一星",  # no hours
        ":100",  # no name
        "一星:百",  # not a number
        "一星:0",
        "一星:-5",
        "一星:NaN",
        "一星:Infinity",
        "一星:1.005",  # finer than credited hours
        "一星:100,二星:100",  # not rising
        "一星:300,二星:100",
        "一星:100,一星:200",
        "一星:100,,二星:300",
        "一\n星:100",
        "很长很长很长很长很长很长很长很长的星级:100",
    ],
)
def test_a_ladder_that_makes_no_sense_is_refused(text: str) -> None:
    with pytest.raises(LadderError):
        parse_levels(text)


@pytest.mark.parametrize(
    ("hours", "level", "next_level", "to_go"),
    [
        ("0", None, "一星", "100"),
        ("99.99", None, "一星", "0.01"),
        ("100", "一星", "二星", "200"),
        ("299.99", "一星", "二星", "0.01"),
        ("300", "二星", "三星", "300"),
        ("1499.99", "四星", "五星", "0.01"),
        ("1500", "五星", None, None),
        ("9999", "五星", None, None),
    ],
)
def test_the_level_is_the_highest_threshold_reached(
    hours: str, level: str | None, next_level: str | None, to_go: str | None
) -> None:
    services = [service(1, hours)] if Decimal(hours) else []
    found = standing(LADDER, services)
    assert found.hours == Decimal(hours)
    assert (found.level.name if found.level else None) == level
    assert (found.next_level.name if found.next_level else None) == next_level
    assert found.hours_to_go == (Decimal(to_go) if to_go else None)


def test_the_level_is_reached_on_the_day_of_the_service_that_crossed_it() -> None:
    services = [service(n, "40.00") for n in (3, 1, 2, 4)]  # 40, 80, 120, 160 in day order
    found = standing(LADDER, services)
    assert found.level is not None
    assert found.level.name == "一星"
    assert found.reached_on == DAY + timedelta(days=3)


def test_one_long_service_may_climb_two_levels() -> None:
    found = standing(LADDER, [service(1, "650.00")])
    assert found.level is not None
    assert found.level.name == "三星"
    assert found.reached_on == DAY + timedelta(days=1)


def test_badges_are_the_catalogue_in_order() -> None:
    assert [b.rule.code for b in badges([], DAY)] == [rule.code for rule in BADGES]
    assert all(b.earned_on is None and b.progress == 0 for b in badges([], DAY))


def test_the_first_door_knock_is_earned_by_the_first_and_no_other_kind() -> None:
    others = [service(n, kind=kind) for n, kind in enumerate(["patrol", "elder_delivery"], 1)]
    assert earned(badges(others, DAY), BadgeCode.FIRST_DOOR_KNOCK) is None
    assert earned(badges(others, DAY), BadgeCode.FIRST_SERVICE) == DAY + timedelta(days=1)
    knocks = [service(5, kind="door_knock"), service(9, kind="door_knock")]
    assert earned(badges(others + knocks, DAY), BadgeCode.FIRST_DOOR_KNOCK) == DAY + timedelta(5)


def test_ten_elder_deliveries_are_earned_on_the_tenth_not_the_ninth() -> None:
    deliveries = [service(n, kind="elder_delivery") for n in range(1, 11)]
    nine = badges([*deliveries[:9], service(20, kind="door_knock")], DAY)
    assert earned(nine, BadgeCode.ELDER_DELIVERIES_10) is None
    assert progress(nine, BadgeCode.ELDER_DELIVERIES_10) == 9
    ten = badges([*reversed(deliveries), service(30, kind="elder_delivery")], DAY)
    assert earned(ten, BadgeCode.ELDER_DELIVERIES_10) == DAY + timedelta(days=10)
    assert progress(ten, BadgeCode.ELDER_DELIVERIES_10) == 10


def test_a_hundred_hours_are_earned_on_the_day_they_are_reached() -> None:
    found = badges([service(1, "60.00"), service(2, "39.99")], DAY)
    assert earned(found, BadgeCode.HOURS_100) is None
    assert progress(found, BadgeCode.HOURS_100) == Decimal("99.99")
    found = badges([service(1, "60.00"), service(2, "39.99"), service(3, "0.01")], DAY)
    assert earned(found, BadgeCode.HOURS_100) == DAY + timedelta(days=3)


def monthly(first: date, months: int, skip: int | None = None) -> list[Service]:
    """A service on the 15th of each month from ``first`` on, but the ``skip``-th."""
    days = []
    for n in range(months):
        month = first.month - 1 + n
        days.append(date(first.year + month // 12, month % 12 + 1, 15))
    return [service(n, day=day) for n, day in enumerate(days, 1) if n != skip]


def test_twelve_months_running_across_a_new_year_earn_a_year_of_monthly_service() -> None:
    # May 2025 to April 2026: the new year falls in the middle of the run.
    run = monthly(date(2025, 5, 1), 12)
    today = date(2026, 4, 20)
    assert earned(badges(run[:11], today), BadgeCode.MONTHLY_YEAR) is None
    assert progress(badges(run[:11], today), BadgeCode.MONTHLY_YEAR) == 11
    found = badges(run, today)
    assert earned(found, BadgeCode.MONTHLY_YEAR) == date(2026, 4, 15)
    # A second service in the twelfth month changes nothing; an earlier one that month does.
    earlier = [*run, service(99, day=date(2026, 4, 2))]
    assert earned(badges(earlier, today), BadgeCode.MONTHLY_YEAR) == date(2026, 4, 2)


def test_a_month_missed_starts_the_run_again() -> None:
    gap = monthly(date(2025, 5, 1), 13, skip=6)  # October 2025 missed
    today = date(2026, 5, 20)
    assert earned(badges(gap, today), BadgeCode.MONTHLY_YEAR) is None
    # November 2025 to May 2026: seven months, still alive in May.
    assert progress(badges(gap, today), BadgeCode.MONTHLY_YEAR) == 7


def test_a_run_counts_while_this_month_may_still_bring_its_service() -> None:
    run = monthly(date(2025, 11, 1), 3)  # November, December, January
    assert progress(badges(run, date(2026, 1, 31)), BadgeCode.MONTHLY_YEAR) == 3
    assert progress(badges(run, date(2026, 2, 28)), BadgeCode.MONTHLY_YEAR) == 3
    # March with nothing since January: the run is over.
    assert progress(badges(run, date(2026, 3, 1)), BadgeCode.MONTHLY_YEAR) == 0


def test_a_year_earned_stays_earned_when_later_months_are_missed() -> None:
    run = monthly(date(2024, 12, 1), 12)
    assert earned(badges(run, date(2027, 6, 1)), BadgeCode.MONTHLY_YEAR) == date(2025, 11, 15)
