"""Rule sets from and to JSON-like data: every problem reported at once, by path."""

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
    dump_rule_set,
    evaluate,
    parse_rule_set,
    starter_rule_set,
)


def errors_of(data: Any) -> dict[str, object]:
    with pytest.raises(InvalidInput) as raised:
        parse_rule_set(data)
    assert raised.value.code == "invalid_input"
    return raised.value.errors


def with_rule(**fields: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {"name": "r", "awards": {"jifen": {"base": 1}}}
    rule.update(fields)
    return {"rules": [rule]}


def with_formula(**fields: Any) -> dict[str, Any]:
    return with_rule(awards={"jifen": fields})


def test_a_full_rule_set_parses() -> None:
    rule_set = parse_rule_set(
        {
            "rules": [
                {
                    "name": "敲门入户",
                    "match": {
                        "events": ["task_completed"],
                        "task_types": ["door_knock", "anti_fraud"],
                        "categories": ["service"],
                        "roles": ["member", "volunteer"],
                        "work_units": ["households"],
                    },
                    "awards": {
                        "jifen": {"base": 10, "per_unit": 5},
                        "xingfubi": {
                            "per_hour": "1.5",
                            "multiplier": 2,
                            "rounding": "floor",
                        },
                    },
                },
                {"name": "catch-all", "awards": {"xingfubi": {"base": "2"}}},
            ],
            "caps": {"jifen": {"day": 50, "month": 200}, "xingfubi": {}},
        }
    )
    assert rule_set == RuleSet(
        rules=(
            Rule(
                name="敲门入户",
                match=Match(
                    events=frozenset({EarningEvent.TASK_COMPLETED}),
                    task_types=frozenset({TaskType.DOOR_KNOCK, TaskType.ANTI_FRAUD}),
                    categories=frozenset({Category.SERVICE}),
                    roles=frozenset({Role.MEMBER, Role.VOLUNTEER}),
                    work_units=frozenset({WorkUnit.HOUSEHOLDS}),
                ),
                awards={
                    Currency.JIFEN: Formula(base=10, per_unit=5),
                    Currency.XINGFUBI: Formula(
                        per_hour=Decimal("1.5"), multiplier=Decimal(2), rounding=Rounding.FLOOR
                    ),
                },
            ),
            Rule(name="catch-all", awards={Currency.XINGFUBI: Formula(base=2)}),
        ),
        caps={Currency.JIFEN: Caps(day=50, month=200), Currency.XINGFUBI: Caps()},
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.5", Decimal("1.5")),
        (1.5, Decimal("1.5")),  # a JSON float means what it says, not its binary expansion
        (0.1, Decimal("0.1")),
        (2, Decimal(2)),
        ("0.0001", Decimal("0.0001")),
        ("3.50000", Decimal("3.5")),
    ],
)
def test_decimal_fields_take_ints_floats_and_decimal_text(value: object, expected: Decimal) -> None:
    (rule,) = parse_rule_set(with_formula(per_hour=value)).rules
    assert rule.awards[Currency.JIFEN].per_hour == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "must be a whole number"),
        (2.0, "must be a whole number"),
        (True, "must be a whole number"),
        ("ten", "must be a whole number"),
        ("1e3", "must be a whole number"),
        (-1, "must be ≥ 0"),
        ("-3", "must be ≥ 0"),
        (1_000_000_001, "must be ≤ 1000000000"),
    ],
)
def test_whole_number_fields_refuse_fractions_and_negatives(value: object, message: str) -> None:
    assert errors_of(with_formula(base=value)) == {"rules[0].awards.jifen.base": [message]}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("per_hour", "-1", "must be ≥ 0"),
        ("per_hour", "1.23456", "at most 4 decimal places"),
        ("per_hour", "NaN", 'must be a number such as 1.5 or "1.5"'),
        ("per_hour", "1e5", 'must be a number such as 1.5 or "1.5"'),
        ("per_hour", float("inf"), 'must be a number such as 1.5 or "1.5"'),
        ("per_hour", False, 'must be a number such as 1.5 or "1.5"'),
        ("multiplier", 0, "must be > 0 and ≤ 10"),
        ("multiplier", "10.01", "must be > 0 and ≤ 10"),
        ("multiplier", "-2", "must be > 0 and ≤ 10"),
        ("rounding", "half_even", "expected one of floor, ceil, half_up"),
    ],
)
def test_formula_field_errors(field: str, value: object, message: str) -> None:
    errors = errors_of(with_formula(**{field: value}))
    assert errors == {f"rules[0].awards.jifen.{field}": [message]}


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of(
        {
            "rules": [
                {
                    "name": "",
                    "match": {"task_types": ["door_knock", "gardening"], "roles": ["staff"]},
                    "awards": {"gold": {"base": 1}, "jifen": {"base": -1, "per_unit": 0.5}},
                    "colour": "red",
                },
                {"name": "ok", "awards": {"xingfubi": {"multiplier": "20", "bonus": 1}}},
                "not a rule",
                {"match": {"events": []}},
            ],
            "caps": {"jifen": {"day": -5, "fortnight": 10}, "points": {}},
            "version": 3,
        }
    )
    assert errors == {
        "version": ["unknown field"],
        "rules[0].colour": ["unknown field"],
        "rules[0].name": ["must not be empty"],
        "rules[0].match.task_types": [
            "unknown value 'gardening'; expected one of door_knock, elder_delivery, anti_fraud,"
            " patrol, cleanup, mediation, neighbour_help, culture, custom"
        ],
        "rules[0].match.roles": [
            "unknown value 'staff'; expected one of member, volunteer, resident"
        ],
        "rules[0].awards.gold": ["unknown currency; expected jifen or xingfubi"],
        "rules[0].awards.jifen.base": ["must be ≥ 0"],
        "rules[0].awards.jifen.per_unit": ["must be a whole number"],
        "rules[1].awards.xingfubi.bonus": ["unknown field"],
        "rules[1].awards.xingfubi.multiplier": ["must be > 0 and ≤ 10"],
        "rules[2]": ["must be an object"],
        "rules[3].name": ["required"],
        "rules[3].match.events": ["must not be empty (leave it out to match anything)"],
        "rules[3].awards": ["required"],
        "caps.jifen.fortnight": ["unknown field"],
        "caps.jifen.day": ["must be ≥ 0"],
        "caps.points": ["unknown currency; expected jifen or xingfubi"],
    }


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ([], {"_schema": ["must be an object"]}),
        ({}, {"rules": ["required"]}),
        ({"rules": {}}, {"rules": ["must be a list of rules"]}),
        ({"rules": []}, {"rules": ["must hold 1 to 200 rules"]}),
        ({"rules": [{}] * 201}, {"rules": ["must hold 1 to 200 rules"]}),
        (
            {"rules": [{"name": "r", "awards": {}}]},
            {"rules[0].awards": ["must award at least one currency"]},
        ),
        ({"rules": [{"name": "r", "awards": []}]}, {"rules[0].awards": ["must be an object"]}),
        ({"rules": [{"name": 5, "awards": {"jifen": {}}}]}, {"rules[0].name": ["must be text"]}),
        (
            {"rules": [{"name": "  ", "awards": {"jifen": {}}}]},
            {"rules[0].name": ["must not be empty"]},
        ),
        (
            {"rules": [{"name": "名" * 65, "awards": {"jifen": {}}}]},
            {"rules[0].name": ["at most 64 characters"]},
        ),
        (with_rule(match=["door_knock"]), {"rules[0].match": ["must be an object"]}),
        (
            with_rule(match={"task_types": "door_knock"}),
            {"rules[0].match.task_types": ["must be a list"]},
        ),
        (with_rule(match={"colour": ["red"]}), {"rules[0].match.colour": ["unknown field"]}),
        (
            with_rule(match={"work_units": ["minutes"]}),
            {
                "rules[0].match.work_units": [
                    "unknown value 'minutes'; expected one of hours, households, residents_helped"
                ]
            },
        ),
        (
            {"rules": [{"name": "r", "awards": {"jifen": {}}}], "caps": []},
            {"caps": ["must be an object"]},
        ),
        (
            {"rules": [{"name": "r", "awards": {"jifen": {}}}], "caps": {"jifen": 5}},
            {"caps.jifen": ["must be an object"]},
        ),
    ],
)
def test_shape_errors(data: Any, errors: dict[str, list[str]]) -> None:
    assert errors_of(data) == errors


@pytest.mark.parametrize("name", ["敲门\x00入户", "敲门\n入户", "\u009b敲门"])
def test_a_rule_name_is_a_line_of_text(name: str) -> None:
    problems = errors_of(with_rule(name=name))
    assert list(problems) == ["rules[0].name"]
    assert "no line breaks or control characters" in str(problems["rules[0].name"])


def test_a_rule_name_is_trimmed_and_nfc_as_names_are() -> None:
    rule_set = parse_rule_set(with_rule(name=" Jose\u0301 敲门 "))
    assert rule_set.rules[0].name == "José 敲门"


def test_null_means_left_out() -> None:
    data = with_rule(
        match={"events": None, "roles": None}, awards={"jifen": {"base": 3, "per_hour": None}}
    )
    data["caps"] = {"jifen": {"day": None, "week": 10}}
    rule_set = parse_rule_set(data)
    assert rule_set.rules[0].match == Match()
    assert rule_set.rules[0].awards[Currency.JIFEN] == Formula(base=3)
    assert rule_set.caps[Currency.JIFEN] == Caps(week=10)


def test_dump_is_json_ready_and_reads_back() -> None:
    rule_set = parse_rule_set(
        with_rule(
            match={"roles": ["resident", "member"], "categories": ["safety"]},
            awards={"xingfubi": {"per_hour": 2.5, "multiplier": "1.50", "rounding": "ceil"}},
        )
    )
    dumped = dump_rule_set(rule_set)
    assert dumped == {
        "rules": [
            {
                "name": "r",
                "match": {"categories": ["safety"], "roles": ["member", "resident"]},
                "awards": {
                    "xingfubi": {
                        "base": 0,
                        "per_hour": "2.5",
                        "per_unit": 0,
                        "multiplier": "1.5",
                        "rounding": "ceil",
                    }
                },
            }
        ],
        "caps": {},
    }
    assert parse_rule_set(dumped) == rule_set


def test_the_starter_rule_set_prices_every_task_type_in_both_currencies() -> None:
    rule_set = parse_rule_set(starter_rule_set())
    assert parse_rule_set(dump_rule_set(rule_set)) == rule_set
    for task_type in TaskType:
        for role in (Role.MEMBER, Role.VOLUNTEER, Role.RESIDENT):
            facts = Facts(event=EarningEvent.TASK_COMPLETED, role=role, task_type=task_type)
            evaluation = evaluate(rule_set, facts, {})
            assert evaluation.amount(Currency.JIFEN) > 0, task_type
            assert evaluation.amount(Currency.XINGFUBI) > 0, task_type
    for event in (EarningEvent.PROBLEM_REPORT_ACCEPTED, EarningEvent.HOUSEHOLD_VISIT):
        evaluation = evaluate(rule_set, Facts(event=event, role=Role.RESIDENT), {})
        assert evaluation.matched, event


def test_equal_rule_sets_hash_alike() -> None:
    first, second = parse_rule_set(starter_rule_set()), parse_rule_set(starter_rule_set())
    assert first is not second
    assert {first, second} == {first}


def test_a_rule_set_cannot_be_changed_after_parsing() -> None:
    rule_set = parse_rule_set(starter_rule_set())
    with pytest.raises(TypeError):
        rule_set.caps[Currency.JIFEN] = Caps()  # type: ignore[index]
    with pytest.raises(TypeError):
        rule_set.rules[0].awards[Currency.JIFEN] = Formula()  # type: ignore[index]


def test_the_starter_rule_set_is_a_fresh_copy_each_time() -> None:
    first = starter_rule_set()
    first["rules"].clear()
    assert starter_rule_set()["rules"]


def test_starter_caps_bite() -> None:
    rule_set = parse_rule_set(starter_rule_set())
    facts = Facts(
        event=EarningEvent.TASK_COMPLETED,
        role=Role.MEMBER,
        task_type=TaskType.DOOR_KNOCK,
        units=10,
        work_unit=WorkUnit.HOUSEHOLDS,
    )
    evaluation = evaluate(rule_set, facts, {Currency.XINGFUBI: EarnedSoFar(day=45, week=45)})
    assert evaluation.amount(Currency.JIFEN) == 25
    assert evaluation.amount(Currency.XINGFUBI) == 5
    assert evaluation.explanation == (
        "敲门入户 rule: 10 户 × 2 + base 5 = 25 积分; daily cap 100, 100 left → 25 积分\n"
        "敲门入户 rule: 10 户 × 1 + base 2 = 12 幸福币; daily cap 50, 5 left → 5 幸福币"
    )
