"""Limits on rule sets and facts, and the checks that enforce them.

The model checks itself with these on construction and the parser reports with the
same functions, so a rule set built in code obeys the limits an admin's JSON does.
Each check returns a message, or None if the value is fine.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from points.errors import InvalidInput

# Limits that keep one rule set small and its numbers inside a BIGINT column; real
# awards are tens or hundreds, so these never bind honest use.
MAX_RULES = 200
MAX_NAME_LENGTH = 64
MAX_AMOUNT = 1_000_000_000
MAX_MULTIPLIER = Decimal(10)
MAX_DECIMAL_PLACES = 4
MAX_HOURS = Decimal(10_000)
MAX_UNITS = 1_000_000


def amount_problem(value: int) -> str | None:
    if value < 0:
        return "must be ≥ 0"
    if value > MAX_AMOUNT:
        return f"must be ≤ {MAX_AMOUNT}"
    return None


def rate_problem(value: Decimal) -> str | None:
    if not value.is_finite():
        return "must be a number"
    if value < 0:
        return "must be ≥ 0"
    if value > MAX_AMOUNT:
        return f"must be ≤ {MAX_AMOUNT}"
    return places_problem(value)


def multiplier_problem(value: Decimal) -> str | None:
    if not value.is_finite() or not 0 < value <= MAX_MULTIPLIER:
        return f"must be > 0 and ≤ {MAX_MULTIPLIER}"
    return places_problem(value)


def places_problem(value: Decimal) -> str | None:
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
        return f"at most {MAX_DECIMAL_PLACES} decimal places"
    return None


def name_problem(name: str) -> str | None:
    if not name.strip():
        return "must not be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"at most {MAX_NAME_LENGTH} characters"
    return None


def choices_problem(values: frozenset[object] | None) -> str | None:
    # An empty list would match nothing, which is never what an admin means.
    return "must not be empty (leave it out to match anything)" if values == frozenset() else None


def raise_problems(what: str, problems: Mapping[str, str | None]) -> None:
    errors = {key: [message] for key, message in problems.items() if message}
    if errors:
        raise InvalidInput(f"invalid {what}", errors=errors)
