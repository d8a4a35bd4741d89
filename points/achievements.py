"""服务星级与徽章: service levels by verified hours and badges for milestones, worked out
from a member's verified services every time they are asked for. Nothing here is
stored, so a reversed service lowers a level or takes a badge away by itself."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from points.rules import TaskType

# 志愿服务星级: the thresholds districts commonly use; LIANXIN_SERVICE_LEVELS changes them.
DEFAULT_LEVELS = "一星:100,二星:300,三星:600,四星:1000,五星:1500"
_LEVEL_NAME_MAX = 16
_HOURS = Decimal("0.01")


@dataclass(frozen=True)
class Level:
    rank: int  # 1 for the first step of the ladder
    name: str
    threshold: Decimal  # verified hours that reach it


@dataclass(frozen=True)
class Service:
    """One verified service (approved, not reversed): what levels and badges count."""

    participation_id: int
    task_type: str
    served_on: date  # the local day its task began, the day it counts for
    hours: Decimal


class LadderError(ValueError):
    """The level ladder as configured makes no sense; the message says why."""


def parse_levels(text: str) -> tuple[Level, ...]:
    """``一星:100,二星:300`` as a ladder: names unique, thresholds positive and rising."""
    levels: list[Level] = []
    for position, part in enumerate(text.split(","), start=1):
        name, colon, threshold = part.partition(":")
        name = name.strip()
        if not colon or not name:
            raise LadderError(f"step {position} must be NAME:HOURS, got {part.strip()!r}")
        if len(name) > _LEVEL_NAME_MAX or not name.isprintable():
            raise LadderError(f"level name {name!r} must be printable, {_LEVEL_NAME_MAX} at most")
        try:
            hours = Decimal(threshold.strip())
        except InvalidOperation:
            raise LadderError(f"{name}'s hours must be a number, got {threshold!r}") from None
        if not hours.is_finite() or hours <= 0 or hours != hours.quantize(_HOURS):
            raise LadderError(f"{name}'s hours must be positive, to the hundredth at most")
        if levels and hours <= levels[-1].threshold:
            raise LadderError(f"{name} must need more hours than {levels[-1].name}")
        if any(level.name == name for level in levels):
            raise LadderError(f"level {name} appears twice")
        levels.append(Level(position, name, hours.quantize(_HOURS)))
    return tuple(levels)


@dataclass(frozen=True)
class Standing:
    """Where a member stands on the ladder."""

    hours: Decimal
    level: Level | None  # None below the first step
    reached_on: date | None  # the day of the service that reached it
    next_level: Level | None  # None at the top
    hours_to_go: Decimal | None


def standing(levels: Sequence[Level], services: Sequence[Service]) -> Standing:
    total, reached_on, climbed = Decimal(0), None, 0  # climbed: levels reached so far
    for service in _in_order(services):
        total += service.hours
        while climbed < len(levels) and total >= levels[climbed].threshold:
            climbed, reached_on = climbed + 1, service.served_on
    following = levels[climbed] if climbed < len(levels) else None
    total = total.quantize(_HOURS)
    return Standing(
        hours=total,
        level=levels[climbed - 1] if climbed else None,
        reached_on=reached_on,
        next_level=following,
        hours_to_go=None if following is None else following.threshold - total,
    )


class BadgeCode(StrEnum):
    FIRST_SERVICE = "first_service"  # 初心起步: the first verified service of any kind
    FIRST_DOOR_KNOCK = "first_door_knock"  # 首次入户走访
    ELDER_DELIVERIES_10 = "elder_deliveries_10"  # 送菜上门十次
    HOURS_100 = "hours_100"  # 服务百小时
    MONTHLY_YEAR = "monthly_year"  # 月月有服务: twelve months running


class Measure(StrEnum):
    SERVICES = "services"  # services counted (of one task type, or any)
    HOURS = "hours"  # verified hours added up
    MONTHS_RUNNING = "months_running"  # consecutive local months each with a service


@dataclass(frozen=True)
class BadgeRule:
    code: BadgeCode
    name: str
    measure: Measure
    goal: int
    task_type: TaskType | None = None  # SERVICES of this type only; None: of any


BADGES: tuple[BadgeRule, ...] = (
    BadgeRule(BadgeCode.FIRST_SERVICE, "初心起步", Measure.SERVICES, 1),
    BadgeRule(BadgeCode.FIRST_DOOR_KNOCK, "首次入户走访", Measure.SERVICES, 1, TaskType.DOOR_KNOCK),
    BadgeRule(
        BadgeCode.ELDER_DELIVERIES_10, "送菜上门十次", Measure.SERVICES, 10, TaskType.ELDER_DELIVERY
    ),
    BadgeRule(BadgeCode.HOURS_100, "服务百小时", Measure.HOURS, 100),
    BadgeRule(BadgeCode.MONTHLY_YEAR, "月月有服务", Measure.MONTHS_RUNNING, 12),
)


@dataclass(frozen=True)
class BadgeProgress:
    rule: BadgeRule
    progress: Decimal  # towards the goal, never above it
    earned_on: date | None  # the day of the service that completed it; None: not yet


def badges(services: Sequence[Service], today: date) -> list[BadgeProgress]:
    """Every badge of the catalogue, earned or with its progress, in catalogue order."""
    ordered = _in_order(services)
    return [_badge(rule, ordered, today) for rule in BADGES]


def _badge(rule: BadgeRule, ordered: list[Service], today: date) -> BadgeProgress:
    goal = Decimal(rule.goal)
    match rule.measure:
        case Measure.SERVICES:
            counted = [s for s in ordered if rule.task_type in (None, s.task_type)]
            done = min(Decimal(len(counted)), goal)
            earned = counted[rule.goal - 1].served_on if len(counted) >= rule.goal else None
            return BadgeProgress(rule, done, earned)
        case Measure.HOURS:
            total = Decimal(0)
            for service in ordered:
                total += service.hours
                if total >= goal:
                    return BadgeProgress(rule, goal, service.served_on)
            return BadgeProgress(rule, total.quantize(_HOURS), None)
        case Measure.MONTHS_RUNNING:
            return _months_running(rule, ordered, today)


def _months_running(rule: BadgeRule, ordered: list[Service], today: date) -> BadgeProgress:
    first_day: dict[int, date] = {}
    for service in ordered:
        first_day.setdefault(_month_number(service.served_on), service.served_on)
    run, previous = 0, None
    for month in sorted(first_day):
        run = run + 1 if previous == month - 1 else 1
        previous = month
        if run == rule.goal:
            return BadgeProgress(rule, Decimal(rule.goal), first_day[month])
    # Not earned: the run still alive counts, one that ended this month or the last
    # (this month may have its service still to come).
    now = _month_number(today)
    alive = previous is not None and previous >= now - 1
    return BadgeProgress(rule, Decimal(run if alive else 0), None)


def _month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def _in_order(services: Iterable[Service]) -> list[Service]:
    return sorted(services, key=lambda s: (s.served_on, s.participation_id))
