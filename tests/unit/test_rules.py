"""Evaluating rule sets: which rule wins, the arithmetic, caps and the breakdown."""

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from points.access import Role
from points.errors import InvalidInput
from points.rules import (
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
    WorkUnit,
    evaluate,
)

JIFEN = Currency.JIFEN
XINGFUBI = Currency.XINGFUBI


KNOCKING_FACTS = Facts(
    event=EarningEvent.TASK_COMPLETED,
    role=Role.MEMBER,
    task_type=TaskType.DOOR_KNOCK,
    category=Category.SERVICE,
    work_unit=WorkUnit.HOUSEHOLDS,
)


def facts(**changes: Any) -> Facts:
    return replace(KNOCKING_FACTS, **changes)


def rule(name: str, match: Match | None = None, **formula: Any) -> Rule:
    return Rule(name=name, match=match or Match(), awards={JIFEN: Formula(**formula)})


def one_rule(caps: Caps | None = None, **formula: Any) -> RuleSet:
    return RuleSet(rules=(rule("r", **formula),), caps={JIFEN: caps} if caps else {})


def jifen(rule_set: RuleSet, earned: EarnedSoFar | None = None, **fact_changes: Any) -> int:
    evaluation = evaluate(rule_set, facts(**fact_changes), {JIFEN: earned or EarnedSoFar()})
    return evaluation.amount(JIFEN)


# --- which rule wins -------------------------------------------------------------

ORDERED = RuleSet(
    rules=(
        rule(
            "members knocking",
            Match(task_types=frozenset({TaskType.DOOR_KNOCK}), roles=frozenset({Role.MEMBER})),
            base=30,
        ),
        rule("knocking", Match(task_types=frozenset({TaskType.DOOR_KNOCK})), base=20),
        rule("safety work", Match(categories=frozenset({Category.SAFETY})), base=15),
        rule("reports", Match(events=frozenset({EarningEvent.PROBLEM_REPORT_ACCEPTED})), base=3),
        rule("per household", Match(work_units=frozenset({WorkUnit.HOUSEHOLDS})), base=2),
        rule("tasks", Match(events=frozenset({EarningEvent.TASK_COMPLETED})), base=1),
    )
)


@pytest.mark.parametrize(
    ("changes", "winner"),
    [
        ({}, 0),  # several rules fit; the first wins
        ({"role": Role.VOLUNTEER}, 1),
        ({"role": Role.RESIDENT, "category": Category.SAFETY}, 1),  # order, not specificity
        ({"task_type": TaskType.PATROL, "category": Category.SAFETY}, 2),
        ({"task_type": TaskType.PATROL, "category": None}, 4),  # a set never matches None
        ({"task_type": TaskType.PATROL, "work_unit": WorkUnit.HOURS}, 5),
        ({"event": EarningEvent.PROBLEM_REPORT_ACCEPTED, "task_type": None}, 3),
        ({"event": EarningEvent.HOUSEHOLD_VISIT, "task_type": None}, 4),
    ],
)
def test_the_first_rule_that_fits_wins(changes: dict[str, Any], winner: int) -> None:
    evaluation = evaluate(ORDERED, facts(**changes), {})
    assert evaluation.rule_index == winner
    assert evaluation.rule_name == ORDERED.rules[winner].name
    assert evaluation.matched


def test_an_empty_match_fits_anything() -> None:
    anything = one_rule(base=7)
    for event in EarningEvent:
        for role in (Role.MEMBER, Role.VOLUNTEER, Role.RESIDENT):
            bare = facts(event=event, role=role, task_type=None, category=None, work_unit=None)
            assert evaluate(anything, bare, {}).amount(JIFEN) == 7


def test_no_fitting_rule_earns_nothing_and_says_why() -> None:
    evaluation = evaluate(
        ORDERED, facts(event=EarningEvent.HOUSEHOLD_VISIT, task_type=None, work_unit=None), {}
    )
    assert not evaluation.matched
    assert evaluation.rule_index is None
    assert evaluation.rule_name is None
    assert [(a.currency, a.amount, a.uncapped) for a in evaluation.awards] == [
        (JIFEN, 0, 0),
        (XINGFUBI, 0, 0),
    ]
    assert evaluation.explanation == (
        "no rule matched (入户走访, 微服务, 党员) → 0 积分\n"
        "no rule matched (入户走访, 微服务, 党员) → 0 幸福币"
    )


def test_a_rule_reports_only_the_currencies_it_awards() -> None:
    only_coins = RuleSet(rules=(Rule(name="coins", awards={XINGFUBI: Formula(base=4)}),))
    evaluation = evaluate(only_coins, facts(), {})
    assert [award.currency for award in evaluation.awards] == [XINGFUBI]
    assert evaluation.amount(JIFEN) == 0
    assert evaluation.amount(XINGFUBI) == 4


# --- the formula -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "hours", "units", "expected"),
    [
        ({}, "0", 0, 0),
        ({"base": 10}, "3", 4, 10),
        ({"per_unit": 5}, "0", 2, 10),
        ({"base": 10, "per_unit": 5}, "0", 2, 20),
        ({"per_hour": Decimal(8)}, "1.5", 0, 12),
        ({"per_hour": Decimal("2.5"), "rounding": Rounding.FLOOR}, "1.5", 0, 3),  # 3.75
        ({"base": 1, "per_hour": Decimal(2), "per_unit": 3}, "0.25", 4, 14),  # 1 + 0.5 + 12
        ({"base": 10, "multiplier": Decimal(2)}, "0", 0, 20),
        ({"base": 10, "per_unit": 1, "multiplier": Decimal("1.5")}, "0", 2, 18),
        ({"base": 3, "multiplier": Decimal("0.5"), "rounding": Rounding.CEIL}, "0", 0, 2),
        ({"base": 1_000_000_000, "multiplier": Decimal(10)}, "0", 0, 10_000_000_000),
    ],
)
def test_formula_arithmetic(formula: dict[str, Any], hours: str, units: int, expected: int) -> None:
    rule_set = one_rule(**formula)
    assert jifen(rule_set, hours=Decimal(hours), units=units) == expected


@pytest.mark.parametrize(
    ("exact_hours", "rounding", "expected"),
    [
        # per_hour 1, so the hours are the exact value
        ("2.5", Rounding.FLOOR, 2),
        ("2.5", Rounding.CEIL, 3),
        ("2.5", Rounding.HALF_UP, 3),
        ("3.5", Rounding.HALF_UP, 4),  # half up, not half even
        ("2.4999", Rounding.HALF_UP, 2),
        ("2.5001", Rounding.FLOOR, 2),
        ("2.0001", Rounding.CEIL, 3),
        ("0.5", Rounding.HALF_UP, 1),
        ("0.5", Rounding.FLOOR, 0),
        ("3", Rounding.FLOOR, 3),
        ("3", Rounding.CEIL, 3),
    ],
)
def test_rounding_modes(exact_hours: str, rounding: Rounding, expected: int) -> None:
    rule_set = one_rule(per_hour=Decimal(1), rounding=rounding)
    assert jifen(rule_set, hours=Decimal(exact_hours)) == expected


def test_half_up_is_applied_to_the_exact_value_not_a_rounded_one() -> None:
    # 0.1 × 5 = 0.5 exactly in Decimal; a float would give 0.5000000000000001 or 0.49999…
    rule_set = one_rule(per_hour=Decimal("0.1"), rounding=Rounding.HALF_UP)
    assert jifen(rule_set, hours=Decimal(5)) == 1
    rule_set = one_rule(per_hour=Decimal("0.1"), multiplier=Decimal(5), rounding=Rounding.FLOOR)
    assert jifen(rule_set, hours=Decimal(1)) == 0


# --- caps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caps", "earned", "expected"),
    [
        (Caps(), EarnedSoFar(day=999), 30),
        (Caps(day=100), EarnedSoFar(), 30),
        (Caps(day=100), EarnedSoFar(day=80), 20),
        (Caps(day=20), EarnedSoFar(day=15), 5),
        (Caps(week=50), EarnedSoFar(week=40, day=0), 10),
        (Caps(month=200), EarnedSoFar(month=180), 20),
        (Caps(year=1000), EarnedSoFar(year=990), 10),
        (Caps(day=100, month=200), EarnedSoFar(day=0, month=195), 5),  # the tightest wins
        (Caps(day=0), EarnedSoFar(), 0),
        (Caps(day=20), EarnedSoFar(day=20), 0),
        (Caps(day=20), EarnedSoFar(day=35), 0),  # already over: nothing, never negative
        (Caps(day=20), EarnedSoFar(day=-10), 20),  # a reversal never makes room beyond the cap
    ],
)
def test_caps_per_window(caps: Caps, earned: EarnedSoFar, expected: int) -> None:
    rule_set = one_rule(caps, base=30)
    evaluation = evaluate(rule_set, facts(), {JIFEN: earned})
    (award,) = evaluation.awards
    assert award.amount == expected
    assert award.uncapped == 30


def test_caps_apply_per_currency() -> None:
    rule_set = RuleSet(
        rules=(Rule(name="both", awards={JIFEN: Formula(base=10), XINGFUBI: Formula(base=10)}),),
        caps={XINGFUBI: Caps(day=4)},
    )
    evaluation = evaluate(rule_set, facts(), {JIFEN: EarnedSoFar(day=100)})
    assert evaluation.amount(JIFEN) == 10
    assert evaluation.amount(XINGFUBI) == 4


def test_a_currency_capped_to_zero_is_still_listed() -> None:
    rule_set = RuleSet(
        rules=(Rule(name="both", awards={JIFEN: Formula(base=10), XINGFUBI: Formula(base=10)}),),
        caps={XINGFUBI: Caps(day=0)},
    )
    evaluation = evaluate(rule_set, facts(), {})
    assert [(a.currency, a.amount) for a in evaluation.awards] == [(JIFEN, 10), (XINGFUBI, 0)]


# --- breakdowns ------------------------------------------------------------------

KNOCKING = RuleSet(
    rules=(
        Rule(
            name="敲门入户",
            match=Match(task_types=frozenset({TaskType.DOOR_KNOCK})),
            awards={
                JIFEN: Formula(base=10, per_unit=5),
                XINGFUBI: Formula(per_hour=Decimal("2.5"), multiplier=Decimal("1.5")),
            },
        ),
    ),
    caps={JIFEN: Caps(day=50, month=200), XINGFUBI: Caps(day=20)},
)


def test_breakdown_with_room_under_the_cap() -> None:
    evaluation = evaluate(
        KNOCKING,
        facts(units=2, hours=Decimal("1.5")),
        {JIFEN: EarnedSoFar(day=0, month=20), XINGFUBI: EarnedSoFar(day=15)},
    )
    assert evaluation.explanation == (
        "敲门入户 rule: 2 户 × 5 + base 10 = 20 积分; daily cap 50, 50 left → 20 积分\n"
        "敲门入户 rule: (1.5 小时 × 2.5) × 1.5 = 5.625, rounded half up to 6 幸福币;"
        " daily cap 20, 5 left → 5 幸福币"
    )


def test_breakdown_when_a_cap_cuts_the_award() -> None:
    evaluation = evaluate(KNOCKING, facts(units=4), {JIFEN: EarnedSoFar(day=10, month=195)})
    jifen_award = evaluation.awards[0]
    assert jifen_award.explanation == (
        "敲门入户 rule: 4 户 × 5 + base 10 = 30 积分; monthly cap 200, 5 left → 5 积分"
    )
    assert (jifen_award.amount, jifen_award.uncapped) == (5, 30)


@pytest.mark.parametrize(
    ("formula", "changes", "expected"),
    [
        (Formula(), {}, "r rule: 0 = 0 积分"),
        (Formula(base=10), {}, "r rule: base 10 = 10 积分"),
        (Formula(base=10, multiplier=Decimal(2)), {}, "r rule: base 10 × 2 = 20 积分"),
        (
            Formula(per_hour=Decimal(3), rounding=Rounding.FLOOR),
            {"hours": Decimal("0.50")},
            "r rule: 0.5 小时 × 3 = 1.5, rounded down to 1 积分",
        ),
        (
            Formula(per_hour=Decimal(3), rounding=Rounding.CEIL),
            {"hours": Decimal("0.5")},
            "r rule: 0.5 小时 × 3 = 1.5, rounded up to 2 积分",
        ),
        (Formula(per_hour=Decimal(3)), {}, "r rule: 0 小时 × 3 = 0 积分"),
        (
            Formula(per_unit=2, multiplier=Decimal("1.25")),
            {"units": 4, "work_unit": WorkUnit.RESIDENTS_HELPED},
            "r rule: (4 人 × 2) × 1.25 = 10 积分",
        ),
        (Formula(per_unit=2), {"units": 3, "work_unit": None}, "r rule: 3 件 × 2 = 6 积分"),
        (
            Formula(base=1, per_hour=Decimal(20), per_unit=1),
            {"hours": Decimal(100), "units": 1, "work_unit": WorkUnit.HOURS},
            "r rule: 100 小时 × 20 + 1 小时 × 1 + base 1 = 2002 积分",
        ),
    ],
)
def test_breakdown_terms(formula: Formula, changes: dict[str, Any], expected: str) -> None:
    rule_set = RuleSet(rules=(Rule(name="r", awards={JIFEN: formula}),))
    (award,) = evaluate(rule_set, facts(**changes), {}).awards
    assert award.explanation == expected


def test_a_tie_between_caps_names_the_shorter_window() -> None:
    rule_set = one_rule(Caps(week=10, year=10), base=30)
    (award,) = evaluate(rule_set, facts(), {}).awards
    assert award.explanation.endswith("; weekly cap 10, 10 left → 10 积分")


# --- facts and values check themselves -------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"hours": Decimal(-1)}, "hours"),
        ({"hours": Decimal("NaN")}, "hours"),
        ({"hours": Decimal("Infinity")}, "hours"),
        ({"hours": Decimal(10_001)}, "hours"),
        ({"units": -1}, "units"),
        ({"role": Role.STAFF}, "role"),
    ],
)
def test_facts_refuse_impossible_work(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        facts(**changes)
    assert list(raised.value.errors) == [key]


@pytest.mark.parametrize(
    ("make", "keys"),
    [
        (lambda: Formula(base=-1, per_unit=-1), ["base", "per_unit"]),
        (lambda: Formula(per_hour=Decimal("0.00001")), ["per_hour"]),
        (lambda: Formula(multiplier=Decimal(0)), ["multiplier"]),
        (lambda: Formula(multiplier=Decimal("10.5")), ["multiplier"]),
        (lambda: Match(task_types=frozenset()), ["task_types"]),
        (lambda: Match(roles=frozenset({Role.STAFF})), ["roles"]),
        (lambda: Rule(name=" ", awards={}), ["name", "awards"]),
        (lambda: Rule(name="x" * 65, awards={JIFEN: Formula()}), ["name"]),
        (lambda: Caps(day=-1, year=-2), ["day", "year"]),
        (lambda: RuleSet(rules=()), ["rules"]),
    ],
)
def test_values_built_in_code_obey_the_same_limits(make: object, keys: list[str]) -> None:
    with pytest.raises(InvalidInput) as raised:
        make()  # type: ignore[operator]
    assert list(raised.value.errors) == keys


def test_currency_labels() -> None:
    assert [currency.label for currency in Currency] == ["积分", "幸福币"]
