"""Rule sets from JSON-like data, reporting every problem at once.

Errors are keyed by a JSON path (``rules[2].awards.jifen.per_unit``) so the admin
console can put each message next to the field it is about.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeGuard, TypeVar

from points.access import Role
from points.currency import Currency
from points.errors import InvalidInput
from points.rules.limits import (
    MAX_RULES,
    amount_problem,
    choices_problem,
    multiplier_problem,
    name_problem,
    rate_problem,
)
from points.rules.model import (
    Caps,
    Formula,
    Match,
    Rounding,
    Rule,
    RuleSet,
    Window,
)
from points.rules.vocabulary import EARNING_ROLES, Category, EarningEvent, TaskType, WorkUnit
from points.text import InvalidText, clean_text

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")

# Plain decimals only: no exponents, NaN or thousand-digit strings.
_DECIMAL_TEXT = re.compile(r"-?\d{1,12}(\.\d{1,12})?")
_WHOLE_TEXT = re.compile(r"-?\d{1,12}")

# Match's fields and what each may hold; shared with ``dump``.
MATCH_FIELDS: dict[str, type[StrEnum]] = {
    "events": EarningEvent,
    "task_types": TaskType,
    "categories": Category,
    "roles": Role,
    "work_units": WorkUnit,
}
_CURRENCY_CODES = frozenset(currency.value for currency in Currency)
_FORMULA_FIELDS = ("base", "per_hour", "per_unit", "multiplier", "rounding")


class _Problems:
    """Messages collected by JSON path while walking the data."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    @property
    def count(self) -> int:
        return sum(len(messages) for messages in self.found.values())

    def add(self, path: str, message: str | None) -> None:
        if message:
            self.found.setdefault(path, []).append(message)

    def build(self, path: str, make: Callable[[], _T]) -> _T | None:
        """Construct a model value; its own checks (normally passed already) land under path."""
        try:
            return make()
        except InvalidInput as error:
            for key, messages in error.errors.items():
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add(_key(path, key), str(message))
            return None


def parse_rule_set(data: Mapping[str, Any]) -> RuleSet:
    """A rule set from decoded JSON; raises InvalidInput listing every problem found."""
    problems = _Problems()
    rule_set = _rule_set(data, problems)
    if problems.found or rule_set is None:
        raise InvalidInput("invalid rule set", errors=problems.found)
    return rule_set


def _rule_set(data: object, problems: _Problems) -> RuleSet | None:
    if not isinstance(data, Mapping):
        problems.add("_schema", "must be an object")
        return None
    _reject_unknown(data, "", {"rules", "caps"}, problems)
    before = problems.count
    rules = _rules(data.get("rules"), problems)
    caps = _per_currency(data.get("caps"), "caps", _caps, problems)
    if problems.count > before:
        return None
    return problems.build("", lambda: RuleSet(rules=tuple(rules), caps=caps))


def _rules(data: object, problems: _Problems) -> list[Rule]:
    if not isinstance(data, list):
        problems.add("rules", "must be a list of rules" if data is not None else "required")
        return []
    if not 1 <= len(data) <= MAX_RULES:
        # Checked before the items, so a huge list costs nothing to refuse.
        problems.add("rules", f"must hold 1 to {MAX_RULES} rules")
        return []
    rules = [_rule(item, f"rules[{index}]", problems) for index, item in enumerate(data)]
    return [rule for rule in rules if rule is not None]


def _rule(data: object, path: str, problems: _Problems) -> Rule | None:
    if not _is_object(data, path, problems):
        return None
    _reject_unknown(data, path, {"name", "match", "awards"}, problems)
    before = problems.count
    name = _name(data.get("name"), _key(path, "name"), problems)
    match = _match(data.get("match"), _key(path, "match"), problems)
    awards = _awards(data.get("awards"), _key(path, "awards"), problems)
    if problems.count > before or name is None or match is None:
        return None
    return problems.build(path, lambda: Rule(name=name, match=match, awards=awards))


def _awards(data: object, path: str, problems: _Problems) -> dict[Currency, Formula]:
    if data is None:
        problems.add(path, "required")
        return {}
    before = problems.count
    awards = _per_currency(data, path, _formula, problems)
    if not awards and problems.count == before:
        problems.add(path, "must award at least one currency")
    return awards


def _name(data: object, path: str, problems: _Problems) -> str | None:
    if not isinstance(data, str):
        problems.add(path, "must be text" if data is not None else "required")
        return None
    try:
        name = clean_text(data)
    except InvalidText as refused:
        problems.add(path, refused.problem)
        return None
    problems.add(path, name_problem(name))
    return name


def _match(data: object, path: str, problems: _Problems) -> Match | None:
    if data is None:
        return Match()
    if not _is_object(data, path, problems):
        return None
    _reject_unknown(data, path, set(MATCH_FIELDS), problems)
    before = problems.count
    events = _choices(data, "events", EarningEvent, path, problems)
    task_types = _choices(data, "task_types", TaskType, path, problems)
    categories = _choices(data, "categories", Category, path, problems)
    roles = _choices(data, "roles", Role, path, problems)
    work_units = _choices(data, "work_units", WorkUnit, path, problems)
    if problems.count > before:
        return None
    return problems.build(
        path,
        lambda: Match(
            events=events,
            task_types=task_types,
            categories=categories,
            roles=roles,
            work_units=work_units,
        ),
    )


def _choices(
    data: Mapping[str, Any], name: str, enum: type[_E], path: str, problems: _Problems
) -> frozenset[_E] | None:
    """The chosen members, or None both when omitted (any) and when wrong (reported)."""
    path = _key(path, name)
    items = data.get(name)
    if items is None:
        return None
    if not isinstance(items, list):
        problems.add(path, "must be a list")
        return None
    allowed = [member.value for member in enum if enum is not Role or member in EARNING_ROLES]
    unknown = [item for item in items if item not in allowed]
    for item in unknown:
        problems.add(path, f"unknown value {item!r}; expected one of {', '.join(allowed)}")
    chosen = frozenset(enum(item) for item in items if item in allowed)
    if unknown:
        return None
    problems.add(path, choices_problem(frozenset(chosen)))
    return chosen or None


def _formula(data: object, path: str, problems: _Problems) -> Formula | None:
    if not _is_object(data, path, problems):
        return None
    _reject_unknown(data, path, set(_FORMULA_FIELDS), problems)
    before = problems.count
    defaults = Formula()
    base = _optional(data, "base", _amount, path, problems)
    per_hour = _optional(data, "per_hour", _rate, path, problems)
    per_unit = _optional(data, "per_unit", _amount, path, problems)
    multiplier = _optional(data, "multiplier", _multiplier, path, problems)
    rounding = _optional(data, "rounding", _rounding, path, problems)
    if problems.count > before:
        return None
    return problems.build(
        path,
        lambda: Formula(
            base=defaults.base if base is None else base,
            per_hour=defaults.per_hour if per_hour is None else per_hour,
            per_unit=defaults.per_unit if per_unit is None else per_unit,
            multiplier=defaults.multiplier if multiplier is None else multiplier,
            rounding=rounding or defaults.rounding,
        ),
    )


def _caps(data: object, path: str, problems: _Problems) -> Caps | None:
    if not _is_object(data, path, problems):
        return None
    _reject_unknown(data, path, {w.value for w in Window}, problems)
    before = problems.count
    day = _optional(data, "day", _amount, path, problems)
    week = _optional(data, "week", _amount, path, problems)
    month = _optional(data, "month", _amount, path, problems)
    year = _optional(data, "year", _amount, path, problems)
    if problems.count > before:
        return None
    return problems.build(path, lambda: Caps(day=day, week=week, month=month, year=year))


def _optional(
    data: Mapping[str, Any],
    name: str,
    read: Callable[[object, str, _Problems], _T | None],
    path: str,
    problems: _Problems,
) -> _T | None:
    """A field where null and omitted both mean "the default"."""
    value = data.get(name)
    return None if value is None else read(value, _key(path, name), problems)


def _per_currency(
    data: object,
    path: str,
    read: Callable[[object, str, _Problems], _T | None],
    problems: _Problems,
) -> dict[Currency, _T]:
    """``{"jifen": …, "xingfubi": …}``, omitted meaning none; wrong entries are left out."""
    if data is None or not _is_object(data, path, problems):
        return {}
    values: dict[Currency, _T] = {}
    for key, item in data.items():
        if key not in _CURRENCY_CODES:
            problems.add(
                _key(path, str(key)), f"unknown currency; expected {' or '.join(Currency)}"
            )
        elif (value := read(item, _key(path, key), problems)) is not None:
            values[Currency(key)] = value
    return values


def _amount(data: object, path: str, problems: _Problems) -> int | None:
    value: int | None = None
    if isinstance(data, int) and not isinstance(data, bool):
        value = data
    elif isinstance(data, str) and _WHOLE_TEXT.fullmatch(data):
        value = int(data)
    else:
        problems.add(path, "must be a whole number")
        return None
    problem = amount_problem(value)
    problems.add(path, problem)
    return None if problem else value


def _decimal(data: object, path: str, problems: _Problems) -> Decimal | None:
    if isinstance(data, int) and not isinstance(data, bool):
        return Decimal(data)
    if isinstance(data, float) and data == data and abs(data) != float("inf"):
        # repr is the shortest text that reads back as this float: what the admin typed.
        return Decimal(repr(data))
    if isinstance(data, str) and _DECIMAL_TEXT.fullmatch(data):
        return Decimal(data)
    problems.add(path, 'must be a number such as 1.5 or "1.5"')
    return None


def _rate(data: object, path: str, problems: _Problems) -> Decimal | None:
    return _checked_decimal(data, path, problems, rate_problem)


def _multiplier(data: object, path: str, problems: _Problems) -> Decimal | None:
    return _checked_decimal(data, path, problems, multiplier_problem)


def _checked_decimal(
    data: object, path: str, problems: _Problems, check: Callable[[Decimal], str | None]
) -> Decimal | None:
    value = _decimal(data, path, problems)
    if value is None:
        return None
    problem = check(value)
    problems.add(path, problem)
    return None if problem else value


def _rounding(data: object, path: str, problems: _Problems) -> Rounding | None:
    if data in {rounding.value for rounding in Rounding}:
        return Rounding(str(data))
    problems.add(path, f"expected one of {', '.join(Rounding)}")
    return None


def _is_object(data: object, path: str, problems: _Problems) -> TypeGuard[Mapping[str, Any]]:
    if not isinstance(data, Mapping):
        problems.add(path, "must be an object")
        return False
    return True


def _reject_unknown(
    data: Mapping[Any, Any], path: str, allowed: set[str], problems: _Problems
) -> None:
    for key in data:
        if key not in allowed:
            problems.add(_key(path, str(key)), "unknown field")


def _key(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
