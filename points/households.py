"""Households (户) and visits to them (走访): the visit life cycle and the pure rules
that keep a visit log honest (党员联户: members visit households, and each visit is
logged against the household register): one credited visit per household, visitor and
day, logged after it happened and within a week."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from points.calendar import local_date
from points.errors import Conflict, InvalidInput

# A phone's clock may run a little ahead of ours; more than this is a visit not yet made.
CLOCK_SKEW = timedelta(minutes=10)
# A visit logged weeks later can't be checked by anyone; staff record those by hand.
LATEST_LOGGING = timedelta(days=7)


class VisitStatus(StrEnum):
    SUBMITTED = "submitted"  # logged by the visitor, awaiting staff
    CONFIRMED = "confirmed"  # staff confirmed it; the visitor was credited
    REJECTED = "rejected"


class VisitAction(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"


VISIT_TRANSITIONS: Mapping[tuple[VisitStatus, VisitAction], VisitStatus] = MappingProxyType(
    {
        (VisitStatus.SUBMITTED, VisitAction.CONFIRM): VisitStatus.CONFIRMED,
        (VisitStatus.SUBMITTED, VisitAction.REJECT): VisitStatus.REJECTED,
    }
)


class AlreadyVisitedToday(Conflict):
    code = "already_visited_today"


def visit_day(visited_at: datetime) -> date:
    """The local day a visit counts for: one credited visit per household, visitor and day."""
    return local_date(visited_at)


def check_visit_time(visited_at: datetime, now: datetime) -> None:
    """A visit is logged after it happened and within a week of it."""
    if visited_at > now + CLOCK_SKEW:
        raise InvalidInput("this visit is in the future", errors={"visited_at": ["in the future"]})
    if visited_at < now - LATEST_LOGGING:
        raise InvalidInput(
            f"visits are logged within {LATEST_LOGGING.days} days",
            errors={"visited_at": [f"more than {LATEST_LOGGING.days} days ago"]},
        )


def blocks_same_day(earlier: VisitStatus) -> bool:
    """Whether an earlier visit to the same household on the same day refuses a new one:
    only a rejected visit makes room (the visitor may log it again properly)."""
    return earlier is not VisitStatus.REJECTED
