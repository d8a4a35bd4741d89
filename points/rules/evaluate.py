"""Pricing one piece of work: the first rule that fits, its formulas, then the caps.

Pure: the caller reads what the member earned so far from the ledger and stores the
returned amounts and breakdowns on the transfers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext

from points.currency import Currency
from points.rules.model import (
    NOTHING_EARNED,
    Award,
    Caps,
    EarnedSoFar,
    Evaluation,
    Facts,
    Formula,
    Rule,
    RuleSet,
    Window,
)
from points.rules.vocabulary import ROLE_LABELS

# Enough digits that no sum or product of checked inputs is ever rounded before the
# rounding policy sees it: a .5 must stay exactly .5.
_PRECISION = 60
_UNIT_LABEL_WITHOUT_WORK_UNIT = "件"


def evaluate(rule_set: RuleSet, facts: Facts, earned: Mapping[Currency, EarnedSoFar]) -> Evaluation:
    """Price ``facts`` by the first rule that fits; no fitting rule earns nothing."""
    for index, rule in enumerate(rule_set.rules):
        if rule.match.fits(facts):
            awards = tuple(
                _award(
                    rule,
                    currency,
                    formula,
                    facts,
                    rule_set.caps.get(currency),
                    earned.get(currency, NOTHING_EARNED),
                )
                for currency, formula in rule.awards.items()
            )
            return Evaluation(rule_index=index, rule_name=rule.name, awards=awards)
    return _nothing_fits(facts)


@dataclass(frozen=True)
class _Room:
    """The cap that leaves the least room in its window."""

    window: Window
    limit: int
    left: int


def _award(
    rule: Rule,
    currency: Currency,
    formula: Formula,
    facts: Facts,
    caps: Caps | None,
    earned: EarnedSoFar,
) -> Award:
    exact = _exact_value(formula, facts)
    uncapped = int(exact.to_integral_value(rounding=formula.rounding.decimal_mode))
    room = _tightest_cap(caps, earned)
    amount = uncapped if room is None else min(uncapped, room.left)
    text = f"{rule.name} rule: {_expression(formula, facts)} = "
    if exact != uncapped:
        text += f"{_number(exact)}, {formula.rounding.label} to "
    text += f"{uncapped} {currency.label}"
    if room is not None:
        text += (
            f"; {room.window.label} cap {room.limit}, {room.left} left → {amount} {currency.label}"
        )
    return Award(currency=currency, amount=amount, uncapped=uncapped, explanation=text)


def _exact_value(formula: Formula, facts: Facts) -> Decimal:
    with localcontext(prec=_PRECISION):
        subtotal = formula.base + formula.per_hour * facts.hours + formula.per_unit * facts.units
        return subtotal * formula.multiplier


def _tightest_cap(caps: Caps | None, earned: EarnedSoFar) -> _Room | None:
    if caps is None:
        return None
    rooms = [
        # A window's total can dip below zero when a reversal lands in a later window
        # than the earning it undoes; that must not let one award exceed the cap itself.
        _Room(window, limit, max(0, limit - max(0, earned.in_window(window))))
        for window in Window
        if (limit := caps.limit(window)) is not None
    ]
    # min() keeps the first of equals, so the shortest window names a tie.
    return min(rooms, key=lambda room: room.left, default=None)


def _expression(formula: Formula, facts: Facts) -> str:
    unit_label = facts.work_unit.label if facts.work_unit else _UNIT_LABEL_WITHOUT_WORK_UNIT
    terms = []
    if formula.per_hour:
        terms.append(f"{_number(facts.hours)} 小时 × {_number(formula.per_hour)}")
    if formula.per_unit:
        terms.append(f"{facts.units} {unit_label} × {formula.per_unit}")
    if formula.base:
        terms.append(f"base {formula.base}")
    expression = " + ".join(terms) or "0"
    if formula.multiplier != 1:
        # Brackets whenever the multiplier could be misread as applying to one factor.
        bare = not terms or (len(terms) == 1 and not (formula.per_hour or formula.per_unit))
        grouped = expression if bare else f"({expression})"
        expression = f"{grouped} × {_number(formula.multiplier)}"
    return expression


def _number(value: Decimal) -> str:
    """1.5 rather than 1.50 or 1.5E+0: how people write numbers."""
    return format(value.normalize(), "f") if value else "0"


def _nothing_fits(facts: Facts) -> Evaluation:
    described = ", ".join(
        label
        for label in (
            facts.event.label,
            facts.task_type.label if facts.task_type else None,
            facts.category.label if facts.category else None,
            ROLE_LABELS[facts.role],
        )
        if label
    )
    awards = tuple(
        Award(
            currency=currency,
            amount=0,
            uncapped=0,
            explanation=f"no rule matched ({described}) → 0 {currency.label}",
        )
        for currency in Currency
    )
    return Evaluation(rule_index=None, rule_name=None, awards=awards)
