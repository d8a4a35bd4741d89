"""The pure rules of the demand loop: levels, the stage a demand waits in, and its
deadlines (kept ones over the defaults, working days)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from points.calendar import LOCAL_TIME, add_working_days
from points.demands import (
    AlreadyAtTheTop,
    DemandLevel,
    DemandStatus,
    Limit,
    LimitKey,
    LimitUnit,
    OwnerKind,
    Stage,
    limit_for,
    stage_of,
)
from points.errors import InvalidInput

FRIDAY_5PM = datetime(2026, 11, 27, 17, 0, tzinfo=LOCAL_TIME)
SATURDAY_10AM = datetime(2026, 11, 28, 10, 0, tzinfo=LOCAL_TIME)


def test_working_days_skip_the_weekend_and_keep_the_time_of_day() -> None:
    assert add_working_days(FRIDAY_5PM, 1) == datetime(2026, 11, 30, 17, 0, tzinfo=LOCAL_TIME)
    assert add_working_days(SATURDAY_10AM, 1) == datetime(2026, 11, 30, 10, 0, tzinfo=LOCAL_TIME)
    assert add_working_days(FRIDAY_5PM, 5) == datetime(2026, 12, 4, 17, 0, tzinfo=LOCAL_TIME)
    # Given in UTC, answered in UTC: Friday 09:00 UTC is Friday 17:00 in Beijing.
    utc = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert add_working_days(utc, 1) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_levels_go_up_one_at_a_time_and_stop_at_the_street() -> None:
    assert DemandLevel.GRID.above() is DemandLevel.COMMUNITY
    assert DemandLevel.COMMUNITY.above() is DemandLevel.STREET
    with pytest.raises(AlreadyAtTheTop) as raised:
        DemandLevel.STREET.above()
    assert raised.value.code == "already_at_the_top"


@pytest.mark.parametrize(
    ("status", "owner", "acknowledged", "stage"),
    [
        (DemandStatus.SUBMITTED, None, False, Stage.ACCEPT),
        (DemandStatus.ACCEPTED, None, False, Stage.RESOLVE),
        (DemandStatus.ASSIGNED, OwnerKind.MEMBER, False, Stage.RESOLVE),
        (DemandStatus.ASSIGNED, OwnerKind.DEPARTMENT, False, Stage.ACKNOWLEDGE),
        (DemandStatus.IN_PROGRESS, OwnerKind.DEPARTMENT, True, Stage.RESOLVE),
        (DemandStatus.RESOLVED, OwnerKind.MEMBER, False, Stage.VERIFY),
        (DemandStatus.VERIFIED, OwnerKind.MEMBER, False, None),
        (DemandStatus.PUBLISHED, OwnerKind.MEMBER, False, None),
        (DemandStatus.CLOSED, None, False, None),
        (DemandStatus.DECLINED, None, False, None),
    ],
)
def test_the_stage_a_demand_waits_in(
    status: DemandStatus, owner: OwnerKind | None, acknowledged: bool, stage: Stage | None
) -> None:
    assert stage_of(status, owner, acknowledged) is stage


def test_the_defaults_resolve_by_level() -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=LOCAL_TIME)  # a Monday
    days = {
        level: (limit_for({}, Stage.RESOLVE, level, "facility").after(start) - start).days
        for level in DemandLevel
    }
    assert days == {DemandLevel.GRID: 3, DemandLevel.COMMUNITY: 7, DemandLevel.STREET: 15}
    assert limit_for({}, Stage.ACCEPT, None, "facility") == Limit(1, LimitUnit.WORKING_DAYS)
    assert limit_for({}, Stage.ACKNOWLEDGE, DemandLevel.STREET, "safety") == Limit(
        24, LimitUnit.HOURS
    )
    assert limit_for({}, Stage.VERIFY, DemandLevel.GRID, "safety") == Limit(
        2, LimitUnit.WORKING_DAYS
    )


def test_the_most_specific_kept_limit_wins() -> None:
    kept = {
        LimitKey(Stage.RESOLVE): Limit(10, LimitUnit.DAYS),
        LimitKey(Stage.RESOLVE, None, "safety"): Limit(2, LimitUnit.DAYS),
        LimitKey(Stage.RESOLVE, DemandLevel.GRID): Limit(5, LimitUnit.DAYS),
        LimitKey(Stage.RESOLVE, DemandLevel.GRID, "safety"): Limit(12, LimitUnit.HOURS),
    }
    assert limit_for(kept, Stage.RESOLVE, DemandLevel.GRID, "safety") == Limit(12, LimitUnit.HOURS)
    assert limit_for(kept, Stage.RESOLVE, DemandLevel.GRID, "facility") == Limit(5, LimitUnit.DAYS)
    assert limit_for(kept, Stage.RESOLVE, DemandLevel.STREET, "safety") == Limit(2, LimitUnit.DAYS)
    assert limit_for(kept, Stage.RESOLVE, DemandLevel.STREET, "culture") == Limit(
        10, LimitUnit.DAYS
    )
    assert limit_for(kept, Stage.VERIFY, DemandLevel.GRID, "safety") == Limit(
        2, LimitUnit.WORKING_DAYS
    )


@pytest.mark.parametrize("amount", [0, 366, -1])
def test_a_limit_is_one_to_a_year(amount: int) -> None:
    with pytest.raises(InvalidInput):
        Limit(amount, LimitUnit.DAYS)
