"""The earning-rule engine: rule sets as data, evaluated purely.

``parse_rule_set`` turns an admin's JSON into a ``RuleSet`` (or says everything that
is wrong with it); ``evaluate`` prices one piece of work and explains the amounts.
"""

from points.currency import Currency
from points.rules.dump import dump_rule_set
from points.rules.evaluate import evaluate
from points.rules.limits import (
    MAX_AMOUNT,
    MAX_DECIMAL_PLACES,
    MAX_HOURS,
    MAX_MULTIPLIER,
    MAX_NAME_LENGTH,
    MAX_RULES,
    MAX_UNITS,
)
from points.rules.model import (
    NOTHING_EARNED,
    Award,
    Caps,
    EarnedSoFar,
    Evaluation,
    Facts,
    Formula,
    Match,
    Rounding,
    Rule,
    RuleSet,
    Window,
)
from points.rules.parse import parse_rule_set
from points.rules.starter import starter_rule_set
from points.rules.vocabulary import (
    EARNING_ROLES,
    ROLE_LABELS,
    Category,
    EarningEvent,
    TaskType,
    WorkUnit,
)

__all__ = [
    "EARNING_ROLES",
    "MAX_AMOUNT",
    "MAX_DECIMAL_PLACES",
    "MAX_HOURS",
    "MAX_MULTIPLIER",
    "MAX_NAME_LENGTH",
    "MAX_RULES",
    "MAX_UNITS",
    "NOTHING_EARNED",
    "ROLE_LABELS",
    "Award",
    "Caps",
    "Category",
    "Currency",
    "EarnedSoFar",
    "EarningEvent",
    "Evaluation",
    "Facts",
    "Formula",
    "Match",
    "Rounding",
    "Rule",
    "RuleSet",
    "TaskType",
    "Window",
    "WorkUnit",
    "dump_rule_set",
    "evaluate",
    "parse_rule_set",
    "starter_rule_set",
]
