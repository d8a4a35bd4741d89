"""A rule set a new community can start from (and the demo world uses).

Every task type earns both currencies with a base amount, plus per household or
resident for door-knocking and anti-fraud work and per hour for most others;
accepted problem reports and household visits earn a little. It is data, exactly as
an admin would send it, so it goes through ``parse_rule_set`` like any other.
"""

from __future__ import annotations

from typing import Any

# name, task type, 积分 formula, 幸福币 formula
_TASK_RULES: tuple[tuple[str, str, dict[str, Any], dict[str, Any]], ...] = (
    ("敲门入户", "door_knock", {"base": 5, "per_unit": 2}, {"base": 2, "per_unit": 1}),
    ("反诈宣传", "anti_fraud", {"base": 5, "per_unit": 1}, {"base": 2, "per_unit": 1}),
    ("送菜上门", "elder_delivery", {"base": 10, "per_hour": "5"}, {"base": 5, "per_hour": "2"}),
    ("安全巡逻", "patrol", {"base": 5, "per_hour": "5"}, {"base": 3, "per_hour": "3"}),
    ("环境保护", "cleanup", {"base": 5, "per_hour": "4"}, {"base": 3, "per_hour": "2"}),
    ("矛盾纠纷调解", "mediation", {"base": 15}, {"base": 10}),
    ("邻里互助", "neighbour_help", {"base": 5, "per_hour": "3"}, {"base": 5}),
    ("文化活动", "culture", {"base": 5, "per_hour": "2"}, {"base": 3}),
    ("其他任务", "custom", {"base": 5}, {"base": 3}),
)


def starter_rule_set() -> dict[str, Any]:
    """A fresh copy each call, so no caller can change what the next one gets."""
    task_rules = [
        {
            "name": name,
            "match": {"events": ["task_completed"], "task_types": [task_type]},
            "awards": {"jifen": dict(jifen), "xingfubi": dict(xingfubi)},
        }
        for name, task_type, jifen, xingfubi in _TASK_RULES
    ]
    other_rules = [
        {
            "name": "问题上报",
            "match": {"events": ["problem_report_accepted"]},
            "awards": {"jifen": {"base": 3}, "xingfubi": {"base": 2}},
        },
        {
            "name": "入户走访",
            "match": {"events": ["household_visit"]},
            "awards": {"jifen": {"base": 2}, "xingfubi": {"base": 1}},
        },
    ]
    return {
        "rules": task_rules + other_rules,
        "caps": {
            "jifen": {"day": 100, "month": 1000},
            "xingfubi": {"day": 50, "week": 200, "month": 500},
        },
    }
