"""Rule sets as JSON-ready data: the inverse of ``parse_rule_set``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from points.rules.model import Formula, Rule, RuleSet, Window
from points.rules.parse import MATCH_FIELDS


def dump_rule_set(rule_set: RuleSet) -> dict[str, Any]:
    """The JSON-ready form ``parse_rule_set`` reads back; Decimals become strings."""
    return {
        "rules": [_dump_rule(rule) for rule in rule_set.rules],
        "caps": {
            currency.value: {w.value: limit for w in Window if (limit := caps.limit(w)) is not None}
            for currency, caps in rule_set.caps.items()
        },
    }


def _dump_rule(rule: Rule) -> dict[str, Any]:
    match = {
        name: [member.value for member in enum if member in chosen]
        for name, enum in MATCH_FIELDS.items()
        if (chosen := getattr(rule.match, name)) is not None
    }
    awards = {currency.value: _dump_formula(formula) for currency, formula in rule.awards.items()}
    return {"name": rule.name, "match": match, "awards": awards}


def _dump_formula(formula: Formula) -> dict[str, Any]:
    return {
        "base": formula.base,
        "per_hour": _decimal_text(formula.per_hour),
        "per_unit": formula.per_unit,
        "multiplier": _decimal_text(formula.multiplier),
        "rounding": formula.rounding.value,
    }


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"
