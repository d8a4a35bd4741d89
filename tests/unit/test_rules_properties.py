"""Properties of the rule engine over generated rule sets, facts and earnings."""

import json
import math
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from points.access import Role
from points.rules import (
    EARNING_ROLES,
    MAX_NAME_LENGTH,
    Caps,
    Category,
    Currency,
    EarnedSoFar,
    EarningEvent,
    Facts,
    Formula,
    Match,
    Rounding,
    Rule,
    RuleSet,
    TaskType,
    Window,
    WorkUnit,
    dump_rule_set,
    evaluate,
    parse_rule_set,
)

# Sized to keep tests/unit within a few seconds; deadlines off, as CI machines stall.
PROPERTIES = settings(max_examples=150, deadline=None)
SOME = settings(max_examples=100, deadline=None)

roles = st.sampled_from(sorted(EARNING_ROLES))


def some_of(values: st.SearchStrategy[object]) -> st.SearchStrategy[frozenset[object] | None]:
    # Mostly "any", so that generated rules fit generated facts often enough to price them.
    return st.none() | st.none() | st.frozensets(values, min_size=1)


# A small alphabet keeps generation fast; CJK, spaces and JSON's special characters
# are what names put through dumping and parsing. Parsing trims a name, so the names
# generated are trimmed already, as every stored one is.
names = (
    st.text("敲门入户 a-'\"\\", min_size=1, max_size=MAX_NAME_LENGTH).map(str.strip).filter(bool)
)
formulas = st.builds(
    Formula,
    base=st.integers(0, 1000) | st.integers(0, 1_000_000_000),
    per_hour=st.decimals(0, 500, places=4) | st.integers(0, 50).map(Decimal),
    per_unit=st.integers(0, 1000),
    multiplier=st.decimals("0.0001", 10, places=4),
    rounding=st.sampled_from(Rounding),
)
matches = st.builds(
    Match,
    events=some_of(st.sampled_from(EarningEvent)),
    task_types=some_of(st.sampled_from(TaskType)),
    categories=some_of(st.sampled_from(Category)),
    roles=some_of(roles),
    work_units=some_of(st.sampled_from(WorkUnit)),
)
rules = st.builds(
    Rule,
    name=names,
    match=matches,
    awards=st.dictionaries(st.sampled_from(Currency), formulas, min_size=1),
)
limits = st.none() | st.integers(0, 500)
caps = st.builds(Caps, day=limits, week=limits, month=limits, year=limits)
rule_sets = st.builds(
    RuleSet,
    rules=st.lists(rules, min_size=1, max_size=4).map(tuple),
    caps=st.dictionaries(st.sampled_from(Currency), caps),
)
facts = st.builds(
    Facts,
    event=st.sampled_from(EarningEvent),
    role=roles,
    task_type=st.none() | st.sampled_from(TaskType),
    category=st.none() | st.sampled_from(Category),
    hours=st.decimals(0, 100, places=2),
    units=st.integers(0, 200),
    work_unit=st.none() | st.sampled_from(WorkUnit),
)
# Negative totals happen when a reversal lands in a later window than its earning.
totals = st.integers(-50, 1000)
earned_so_far = st.builds(EarnedSoFar, day=totals, week=totals, month=totals, year=totals)
earnings = st.dictionaries(st.sampled_from(Currency), earned_so_far)
increases = st.builds(
    EarnedSoFar,
    day=st.integers(0, 300),
    week=st.integers(0, 300),
    month=st.integers(0, 300),
    year=st.integers(0, 300),
)


def exact_value(formula: Formula, facts: Facts) -> Fraction:
    """The formula in exact rational arithmetic: an oracle independent of Decimal contexts."""
    subtotal = (
        formula.base
        + Fraction(formula.per_hour) * Fraction(facts.hours)
        + formula.per_unit * facts.units
    )
    return subtotal * Fraction(formula.multiplier)


def rounded(value: Fraction, rounding: Rounding) -> int:
    if rounding is Rounding.FLOOR:
        return math.floor(value)
    if rounding is Rounding.CEIL:
        return math.ceil(value)
    return math.floor(value + Fraction(1, 2))


def room(caps: Caps, earned: EarnedSoFar, window: Window) -> int | None:
    limit = caps.limit(window)
    return None if limit is None else max(0, limit - max(0, earned.in_window(window)))


@PROPERTIES
@given(rule_sets, facts, earnings)
def test_the_first_fitting_rule_prices_exactly(
    rule_set: RuleSet, facts: Facts, earned: Mapping[Currency, EarnedSoFar]
) -> None:
    evaluation = evaluate(rule_set, facts, earned)
    fitting = [index for index, rule in enumerate(rule_set.rules) if rule.match.fits(facts)]
    assert evaluation.rule_index == (fitting[0] if fitting else None)
    if not fitting:
        assert {award.amount for award in evaluation.awards} == {0}
        return
    rule = rule_set.rules[fitting[0]]
    assert [award.currency for award in evaluation.awards] == list(rule.awards)
    for award in evaluation.awards:
        formula = rule.awards[award.currency]
        assert award.uncapped == rounded(exact_value(formula, facts), formula.rounding)
        assert award.explanation.startswith(f"{rule.name} rule: ")
        assert award.explanation.endswith(f" {award.amount} {award.currency.label}")


@PROPERTIES
@given(rule_sets, facts, earnings)
def test_amounts_are_whole_and_never_exceed_the_formula_or_any_cap(
    rule_set: RuleSet, facts: Facts, earned: Mapping[Currency, EarnedSoFar]
) -> None:
    for award in evaluate(rule_set, facts, earned).awards:
        assert type(award.amount) is int
        assert type(award.uncapped) is int
        assert 0 <= award.amount <= award.uncapped
        currency_caps = rule_set.caps.get(award.currency, Caps())
        so_far = earned.get(award.currency, EarnedSoFar())
        rooms = [room(currency_caps, so_far, window) for window in Window]
        # Not only within every cap: the tightest one, and no less.
        assert award.amount == min([award.uncapped, *(left for left in rooms if left is not None)])


@settings(max_examples=50, deadline=None)  # a pure function: a few cases say enough
@given(rule_sets, facts, earnings)
def test_evaluation_is_deterministic(
    rule_set: RuleSet, facts: Facts, earned: Mapping[Currency, EarnedSoFar]
) -> None:
    assert evaluate(rule_set, facts, earned) == evaluate(rule_set, facts, dict(earned))


@SOME
@given(rule_sets, facts, earnings, st.sampled_from(Currency), increases)
def test_earning_more_before_never_earns_more_now(
    rule_set: RuleSet,
    facts: Facts,
    earned: Mapping[Currency, EarnedSoFar],
    currency: Currency,
    more: EarnedSoFar,
) -> None:
    before = earned.get(currency, EarnedSoFar())
    later = dict(earned)
    later[currency] = replace(
        before,
        **{w.value: before.in_window(w) + more.in_window(w) for w in Window},
    )
    assert evaluate(rule_set, facts, later).amount(currency) <= evaluate(
        rule_set, facts, earned
    ).amount(currency)


@SOME
@given(rule_sets)
def test_dump_then_parse_gives_the_same_rule_set(rule_set: RuleSet) -> None:
    dumped = dump_rule_set(rule_set)
    # Through real JSON text, as the admin console and the database store it.
    assert parse_rule_set(json.loads(json.dumps(dumped))) == rule_set
    assert dump_rule_set(parse_rule_set(dumped)) == dumped


def test_earning_roles_are_the_service_roles() -> None:
    assert {Role.MEMBER, Role.VOLUNTEER, Role.RESIDENT} == EARNING_ROLES
