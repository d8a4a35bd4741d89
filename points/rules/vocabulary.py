"""What the earning rules talk about: events, task types, categories, roles, work units.

Each value has a Chinese ``label`` because breakdowns are read by members, and the
codes (the enum values) are what rule sets store.
"""

from __future__ import annotations

from enum import StrEnum

from points.access import SERVICE_ROLES, Role


class EarningEvent(StrEnum):
    TASK_COMPLETED = "task_completed"
    PROBLEM_REPORT_ACCEPTED = "problem_report_accepted"
    HOUSEHOLD_VISIT = "household_visit"

    @property
    def label(self) -> str:
        return _EVENT_LABELS[self]


class TaskType(StrEnum):
    DOOR_KNOCK = "door_knock"
    ELDER_DELIVERY = "elder_delivery"
    ANTI_FRAUD = "anti_fraud"
    PATROL = "patrol"
    CLEANUP = "cleanup"
    MEDIATION = "mediation"
    NEIGHBOUR_HELP = "neighbour_help"
    CULTURE = "culture"
    CUSTOM = "custom"

    @property
    def label(self) -> str:
        return _TASK_TYPE_LABELS[self]


class Category(StrEnum):
    """八微: the eight kinds of small service every task belongs to."""

    SPACE = "space"
    SERVICE = "service"
    ENVIRONMENT = "environment"
    SAFETY = "safety"
    FACILITY = "facility"
    CULTURE = "culture"
    CHARITY = "charity"
    GOVERNANCE = "governance"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


class WorkUnit(StrEnum):
    HOURS = "hours"
    HOUSEHOLDS = "households"
    RESIDENTS_HELPED = "residents_helped"

    @property
    def label(self) -> str:
        return _WORK_UNIT_LABELS[self]


# Staff, clerks and officers are paid for their work elsewhere; only these earn by rule.
EARNING_ROLES = SERVICE_ROLES

ROLE_LABELS = {Role.MEMBER: "党员", Role.VOLUNTEER: "志愿者", Role.RESIDENT: "居民"}

_EVENT_LABELS = {
    EarningEvent.TASK_COMPLETED: "完成任务",
    EarningEvent.PROBLEM_REPORT_ACCEPTED: "问题上报被采纳",
    EarningEvent.HOUSEHOLD_VISIT: "入户走访",
}
_TASK_TYPE_LABELS = {
    TaskType.DOOR_KNOCK: "敲门入户",
    TaskType.ELDER_DELIVERY: "送菜上门",
    TaskType.ANTI_FRAUD: "反诈宣传",
    TaskType.PATROL: "安全巡逻",
    TaskType.CLEANUP: "环境保护",
    TaskType.MEDIATION: "矛盾纠纷调解",
    TaskType.NEIGHBOUR_HELP: "邻里互助",
    TaskType.CULTURE: "文化活动",
    TaskType.CUSTOM: "其他任务",
}
_CATEGORY_LABELS = {
    Category.SPACE: "微空间",
    Category.SERVICE: "微服务",
    Category.ENVIRONMENT: "微环境",
    Category.SAFETY: "微安全",
    Category.FACILITY: "微设施",
    Category.CULTURE: "微文化",
    Category.CHARITY: "微公益",
    Category.GOVERNANCE: "微治理",
}
_WORK_UNIT_LABELS = {
    WorkUnit.HOURS: "小时",
    WorkUnit.HOUSEHOLDS: "户",
    WorkUnit.RESIDENTS_HELPED: "人",
}
