"""Rule sets, the facts they are evaluated on, and what evaluation returns.

Every value checks itself on construction (see ``limits``), so an invalid rule set
cannot exist, whether it came from JSON or from code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from points.access import Role
from points.currency import Currency
from points.rules.limits import (
    MAX_HOURS,
    MAX_RULES,
    MAX_UNITS,
    amount_problem,
    choices_problem,
    multiplier_problem,
    name_problem,
    raise_problems,
    rate_problem,
)
from points.rules.vocabulary import EARNING_ROLES, Category, EarningEvent, TaskType, WorkUnit


class Rounding(StrEnum):
    FLOOR = "floor"
    CEIL = "ceil"
    HALF_UP = "half_up"

    @property
    def label(self) -> str:
        return _ROUNDING_LABELS[self]

    @property
    def decimal_mode(self) -> str:
        return _DECIMAL_MODES[self]


_ROUNDING_LABELS = {
    Rounding.FLOOR: "rounded down",
    Rounding.CEIL: "rounded up",
    Rounding.HALF_UP: "rounded half up",
}
_DECIMAL_MODES = {
    Rounding.FLOOR: ROUND_FLOOR,
    Rounding.CEIL: ROUND_CEILING,
    Rounding.HALF_UP: ROUND_HALF_UP,
}


class Window(StrEnum):
    """A cap period, shortest first; the week is the ISO week (Monday to Sunday)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"

    @property
    def label(self) -> str:
        return _WINDOW_LABELS[self]


_WINDOW_LABELS = {
    Window.DAY: "daily",
    Window.WEEK: "weekly",
    Window.MONTH: "monthly",
    Window.YEAR: "yearly",
}


@dataclass(frozen=True)
class Formula:
    """``(base + per_hour × hours + per_unit × units) × multiplier``, then rounded."""

    base: int = 0
    per_hour: Decimal = Decimal(0)
    per_unit: int = 0
    multiplier: Decimal = Decimal(1)
    rounding: Rounding = Rounding.HALF_UP

    def __post_init__(self) -> None:
        # Accept ints for the Decimal fields, as ``Formula(per_hour=8)`` reads naturally.
        object.__setattr__(self, "per_hour", Decimal(self.per_hour))
        object.__setattr__(self, "multiplier", Decimal(self.multiplier))
        raise_problems(
            "formula",
            {
                "base": amount_problem(self.base),
                "per_hour": rate_problem(self.per_hour),
                "per_unit": amount_problem(self.per_unit),
                "multiplier": multiplier_problem(self.multiplier),
            },
        )


@dataclass(frozen=True, kw_only=True)
class Facts:
    """What happened, as far as pricing it goes."""

    event: EarningEvent
    role: Role
    task_type: TaskType | None = None  # None for events that are not tasks
    category: Category | None = None
    hours: Decimal = Decimal(0)
    units: int = 0
    work_unit: WorkUnit | None = None  # names the units in breakdowns

    def __post_init__(self) -> None:
        object.__setattr__(self, "hours", Decimal(self.hours))
        hours_ok = self.hours.is_finite() and 0 <= self.hours <= MAX_HOURS
        raise_problems(
            "facts",
            {
                "hours": None if hours_ok else f"must be ≥ 0 and ≤ {MAX_HOURS}",
                "units": None if 0 <= self.units <= MAX_UNITS else f"must be ≥ 0 and ≤ {MAX_UNITS}",
                # Staff, clerks and officers may do the work but are not paid by rule.
                "role": None if self.role in EARNING_ROLES else "only earning roles earn by rule",
            },
        )


@dataclass(frozen=True)
class Match:
    """Which facts a rule applies to; None (the default) matches anything."""

    events: frozenset[EarningEvent] | None = None
    task_types: frozenset[TaskType] | None = None
    categories: frozenset[Category] | None = None
    roles: frozenset[Role] | None = None
    work_units: frozenset[WorkUnit] | None = None

    def __post_init__(self) -> None:
        roles_ok = self.roles is None or self.roles <= EARNING_ROLES
        raise_problems(
            "match",
            {
                "events": choices_problem(self.events),
                "task_types": choices_problem(self.task_types),
                "categories": choices_problem(self.categories),
                "roles": choices_problem(self.roles)
                or (None if roles_ok else "only earning roles"),
                "work_units": choices_problem(self.work_units),
            },
        )

    def fits(self, facts: Facts) -> bool:
        return (
            _allows(self.events, facts.event)
            and _allows(self.task_types, facts.task_type)
            and _allows(self.categories, facts.category)
            and _allows(self.roles, facts.role)
            and _allows(self.work_units, facts.work_unit)
        )


_T = TypeVar("_T")


def _allows(allowed: frozenset[_T] | None, value: _T | None) -> bool:
    return allowed is None or value in allowed


def _frozen(mapping: Mapping[Currency, _T]) -> Mapping[Currency, _T]:
    # Currency order, so breakdowns and dumps come out the same way every time.
    return MappingProxyType(
        {currency: mapping[currency] for currency in Currency if currency in mapping}
    )


@dataclass(frozen=True)
class Rule:
    name: str
    awards: Mapping[Currency, Formula]
    match: Match = Match()

    def __post_init__(self) -> None:
        raise_problems(
            "rule",
            {
                "name": name_problem(self.name),
                "awards": None if self.awards else "must award at least one currency",
            },
        )
        object.__setattr__(self, "awards", _frozen(self.awards))

    def __hash__(self) -> int:
        # Spelled out because the awards mapping is read-only but not hashable itself.
        return hash((self.name, self.match, tuple(self.awards.items())))


@dataclass(frozen=True)
class Caps:
    """The most a member may earn of one currency per period; None means no limit."""

    day: int | None = None
    week: int | None = None
    month: int | None = None
    year: int | None = None

    def __post_init__(self) -> None:
        raise_problems(
            "caps",
            {
                w.value: amount_problem(limit)
                for w in Window
                if (limit := self.limit(w)) is not None
            },
        )

    def limit(self, window: Window) -> int | None:
        limit: int | None = getattr(self, window.value)
        return limit


@dataclass(frozen=True)
class RuleSet:
    """Ordered rules (the first that fits wins, as in a firewall) and caps per currency."""

    rules: tuple[Rule, ...]
    caps: Mapping[Currency, Caps] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        count_ok = 1 <= len(self.rules) <= MAX_RULES
        raise_problems(
            "rule set", {"rules": None if count_ok else f"must hold 1 to {MAX_RULES} rules"}
        )
        object.__setattr__(self, "caps", _frozen(self.caps))

    def __hash__(self) -> int:
        # Hashable, so a parsed rule set can key a cache of evaluations or simulations.
        return hash((self.rules, tuple(self.caps.items())))


@dataclass(frozen=True)
class EarnedSoFar:
    """What the member has already earned of one currency in the windows around now."""

    day: int = 0
    week: int = 0
    month: int = 0
    year: int = 0

    def in_window(self, window: Window) -> int:
        earned: int = getattr(self, window.value)
        return earned


NOTHING_EARNED = EarnedSoFar()


@dataclass(frozen=True)
class Award:
    currency: Currency
    amount: int  # after caps: what the member gets
    uncapped: int  # what the formula gave
    explanation: str  # the breakdown for this currency, stored on the transfer


@dataclass(frozen=True)
class Evaluation:
    rule_index: int | None  # None when no rule fits
    rule_name: str | None
    awards: tuple[Award, ...]  # every currency the rule awards, even when capped to 0

    @property
    def matched(self) -> bool:
        return self.rule_index is not None

    def amount(self, currency: Currency) -> int:
        return sum(award.amount for award in self.awards if award.currency is currency)

    @property
    def explanation(self) -> str:
        return "\n".join(award.explanation for award in self.awards)
