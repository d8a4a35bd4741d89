"""Resident demands and problem reports (居民诉求 / 问题上报): their closed loop.

收集 submitted → 立项 accepted (or declined with a reason) → 交办 assigned to an owner →
落实 in progress → 反馈 resolved (the owner says what was done) → 核查 verified by staff
(or sent back to 落实) → 公示 published on the community's public list → 销号 closed.

三事分流: at 立项 staff set the level that owns the demand — a grid (小事不出网格), the
community (中事不出社区) or the street (大事不出街道) — and moving it up a level is an
action with a reason. The owner is a member or volunteer, the staff member themself, a
task posted to serve it, or a government department (吹哨报到: its officers must 报到,
acknowledge, in time, then respond).

Every stage has a deadline, from a table staff keep (defaults below), so overdue
demands can be listed and counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from points.calendar import add_working_days
from points.errors import Conflict, InvalidInput


class DemandStatus(StrEnum):
    SUBMITTED = "submitted"  # 收集
    ACCEPTED = "accepted"  # 立项: worth doing, a level owns it; the reporter is credited
    DECLINED = "declined"  # not taken up, with a reason
    ASSIGNED = "assigned"  # 交办: an owner has it
    IN_PROGRESS = "in_progress"  # 落实: the owner is at it (a department has 报到'd)
    RESOLVED = "resolved"  # 反馈: the owner said what was done
    VERIFIED = "verified"  # 核查: staff checked it was done
    PUBLISHED = "published"  # 公示: on the community's public list
    CLOSED = "closed"  # 销号

    @property
    def open(self) -> bool:
        return self not in (DemandStatus.DECLINED, DemandStatus.CLOSED)


class DemandAction(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    ASSIGN = "assign"  # to an owner, or to another one
    START = "start"  # the owner begins; for a department this is 报到
    RETURN = "return"  # the owner hands it back (not theirs to do), with a reason
    ESCALATE = "escalate"  # up a level, with a reason: the new level assigns it anew
    RESOLVE = "resolve"
    VERIFY = "verify"
    SEND_BACK = "send_back"  # 核查 found it not done: back to 落实, with a reason
    PUBLISH = "publish"
    CLOSE = "close"
    REOPEN = "reopen"  # 群众来评判: a rating of 1 or 2 sends it back to 核查
    MERGE = "merge"  # the same problem as another: declined as its duplicate
    # 点单: the resident served (or whoever filed it for them, asking them) says the
    # delivery or errand reached them; their word closes it in place of 核查.
    CONFIRM = "confirm"


_S, _A = DemandStatus, DemandAction

DEMAND_TRANSITIONS: Mapping[tuple[DemandStatus, DemandAction], DemandStatus] = MappingProxyType(
    {
        (_S.SUBMITTED, _A.ACCEPT): _S.ACCEPTED,
        (_S.SUBMITTED, _A.DECLINE): _S.DECLINED,
        # 移动探头 often see the same thing: the later report joins the first, and its
        # reporter is told which, and earns nothing for it.
        (_S.SUBMITTED, _A.MERGE): _S.DECLINED,
        (_S.ACCEPTED, _A.ASSIGN): _S.ASSIGNED,
        (_S.ACCEPTED, _A.ESCALATE): _S.ACCEPTED,
        # It went away, or was merged into another: the reporter keeps the credit.
        (_S.ACCEPTED, _A.CLOSE): _S.CLOSED,
        (_S.ASSIGNED, _A.ASSIGN): _S.ASSIGNED,
        (_S.ASSIGNED, _A.START): _S.IN_PROGRESS,
        # An owner who did it at once reports it done without starting first.
        (_S.ASSIGNED, _A.RESOLVE): _S.RESOLVED,
        (_S.ASSIGNED, _A.RETURN): _S.ACCEPTED,
        (_S.ASSIGNED, _A.ESCALATE): _S.ACCEPTED,
        (_S.IN_PROGRESS, _A.ASSIGN): _S.ASSIGNED,
        (_S.IN_PROGRESS, _A.RESOLVE): _S.RESOLVED,
        (_S.IN_PROGRESS, _A.RETURN): _S.ACCEPTED,
        (_S.IN_PROGRESS, _A.ESCALATE): _S.ACCEPTED,
        (_S.RESOLVED, _A.VERIFY): _S.VERIFIED,
        (_S.RESOLVED, _A.SEND_BACK): _S.IN_PROGRESS,
        (_S.VERIFIED, _A.PUBLISH): _S.PUBLISHED,
        # Not everything belongs on a public list (a family dispute mediated, say).
        (_S.VERIFIED, _A.CLOSE): _S.CLOSED,
        (_S.PUBLISHED, _A.CLOSE): _S.CLOSED,
        (_S.VERIFIED, _A.REOPEN): _S.RESOLVED,
        (_S.PUBLISHED, _A.REOPEN): _S.RESOLVED,
        (_S.CLOSED, _A.REOPEN): _S.RESOLVED,
        (_S.RESOLVED, _A.CONFIRM): _S.CLOSED,
    }
)

# Where a task may be posted to serve a demand: one accepted (the task becomes its
# owner) or one a task already owns (a second task for the same demand).
SERVABLE = frozenset({_S.ACCEPTED, _S.ASSIGNED, _S.IN_PROGRESS})

# Actions only the owner takes (or, for an owner who is not a department, staff on
# their behalf); the rest are the handling staff's.
OWNER_ACTIONS = frozenset({_A.START, _A.RETURN, _A.RESOLVE})
# Actions that must say why.
NEEDS_A_REASON = frozenset({_A.DECLINE, _A.RETURN, _A.ESCALATE, _A.SEND_BACK})


class DemandOrder(StrEnum):
    """点单: what a resident (often an elder without a smartphone, filed for by a member
    or staff, 代办) orders for their household, rather than a problem to fix."""

    DELIVERY = "delivery"  # 送菜上门: groceries or meals brought to the door
    ERRAND = "errand"  # 代办: an errand run for them (a prescription, a form)


class DemandLevel(StrEnum):
    """三事分流: who owns a demand, lowest first."""

    GRID = "grid"  # 小事不出网格
    COMMUNITY = "community"  # 中事不出社区
    STREET = "street"  # 大事不出街道

    def above(self) -> DemandLevel:
        levels = list(DemandLevel)
        index = levels.index(self)
        if index + 1 == len(levels):
            raise AlreadyAtTheTop("a street-level demand can't go higher; whistle a department")
        return levels[index + 1]


class OwnerKind(StrEnum):
    MEMBER = "member"  # a member or volunteer, one person
    STAFF = "staff"  # the staff member who assigned it to themself
    TASK = "task"  # a task posted to serve it; approving its work resolves it
    DEPARTMENT = "department"  # 吹哨: a government department's officers


class Stage(StrEnum):
    """What a deadline is for: the stage a demand waits in."""

    ACCEPT = "accept"  # submitted, waiting for 立项
    ACKNOWLEDGE = "acknowledge"  # whistled, waiting for the department's 报到
    RESOLVE = "resolve"  # accepted, waiting for 反馈
    VERIFY = "verify"  # resolved, waiting for 核查


class LimitUnit(StrEnum):
    HOURS = "hours"
    DAYS = "days"
    WORKING_DAYS = "working_days"


@dataclass(frozen=True, slots=True)
class Limit:
    amount: int
    unit: LimitUnit

    def __post_init__(self) -> None:
        if not 1 <= self.amount <= 365:
            raise InvalidInput("a limit is 1 to 365", errors={"limit": ["1 to 365"]})

    def after(self, start: datetime) -> datetime:
        match self.unit:
            case LimitUnit.HOURS:
                return start + timedelta(hours=self.amount)
            case LimitUnit.DAYS:
                return start + timedelta(days=self.amount)
            case LimitUnit.WORKING_DAYS:
                return add_working_days(start, self.amount)
        raise AssertionError(self.unit)


# The defaults when staff set none: accept within a working day; resolve within 3, 7
# or 15 days by level; a department acknowledges within 24 hours; staff verify what
# was done within 2 working days.
DEFAULT_LIMITS: Mapping[tuple[Stage, DemandLevel | None], Limit] = MappingProxyType(
    {
        (Stage.ACCEPT, None): Limit(1, LimitUnit.WORKING_DAYS),
        (Stage.RESOLVE, DemandLevel.GRID): Limit(3, LimitUnit.DAYS),
        (Stage.RESOLVE, DemandLevel.COMMUNITY): Limit(7, LimitUnit.DAYS),
        (Stage.RESOLVE, DemandLevel.STREET): Limit(15, LimitUnit.DAYS),
        (Stage.ACKNOWLEDGE, None): Limit(24, LimitUnit.HOURS),
        (Stage.VERIFY, None): Limit(2, LimitUnit.WORKING_DAYS),
    }
)


@dataclass(frozen=True, slots=True)
class LimitKey:
    """What a kept limit applies to: a stage, for one level or all (None), for one
    category or all (None). The most specific one found wins."""

    stage: Stage
    level: DemandLevel | None = None
    category: str | None = None


def limit_for(
    kept: Mapping[LimitKey, Limit], stage: Stage, level: DemandLevel | None, category: str
) -> Limit:
    """The limit of ``stage`` for a demand of ``level`` and ``category``: the most
    specific one staff kept (level and category, then level, then category, then the
    stage), else the default."""
    for key in (
        LimitKey(stage, level, category),
        LimitKey(stage, level, None),
        LimitKey(stage, None, category),
        LimitKey(stage, None, None),
    ):
        if key in kept:
            return kept[key]
    default = DEFAULT_LIMITS.get((stage, level)) or DEFAULT_LIMITS.get((stage, None))
    if default is None:
        # Every stage has a default for some level: resolve's is by level.
        default = DEFAULT_LIMITS[stage, DemandLevel.GRID]
    return default


def stage_of(status: DemandStatus, owner: OwnerKind | None, acknowledged: bool) -> Stage | None:
    """The stage a demand in ``status`` waits in, if one with a deadline."""
    match status:
        case DemandStatus.SUBMITTED:
            return Stage.ACCEPT
        case DemandStatus.ASSIGNED if owner is OwnerKind.DEPARTMENT and not acknowledged:
            return Stage.ACKNOWLEDGE
        case DemandStatus.ACCEPTED | DemandStatus.ASSIGNED | DemandStatus.IN_PROGRESS:
            return Stage.RESOLVE
        case DemandStatus.RESOLVED:
            return Stage.VERIFY
    return None


# 群众来评判: a resident rates what was done once it was done (反馈 on), 1 to 5; a low
# rating reopens 核查, with its comment as the reason; a rating may be changed for a
# week after it was first given.
RATEABLE = frozenset({_S.RESOLVED, _S.VERIFIED, _S.PUBLISHED, _S.CLOSED})
LOW_RATING = 2
RATING_CHANGEABLE = timedelta(days=7)
RATING_COMMENT_MAX = 300


class WhistleOutcome(StrEnum):
    """How a department answered a whistle (吹哨报到)."""

    RESOLVED = "resolved"  # it said what was done
    RETURNED = "returned"  # it refused, with a reason
    WITHDRAWN = "withdrawn"  # staff took it back (escalated, reassigned) before an answer


def check_score(score: int) -> None:
    if not 1 <= score <= 5:
        raise InvalidInput("a rating is 1 to 5", errors={"score": ["1 to 5"]})


STATUS_LABELS = {
    DemandStatus.SUBMITTED: "待立项",
    DemandStatus.ACCEPTED: "已立项",
    DemandStatus.DECLINED: "不予立项",
    DemandStatus.ASSIGNED: "已交办",
    DemandStatus.IN_PROGRESS: "落实中",
    DemandStatus.RESOLVED: "已反馈",
    DemandStatus.VERIFIED: "已核查",
    DemandStatus.PUBLISHED: "公示中",
    DemandStatus.CLOSED: "已销号",
}
LEVEL_LABELS = {DemandLevel.GRID: "网格", DemandLevel.COMMUNITY: "社区", DemandLevel.STREET: "街道"}
OWNER_LABELS = {
    OwnerKind.MEMBER: "党员/志愿者",
    OwnerKind.STAFF: "社区工作者",
    OwnerKind.TASK: "任务",
    OwnerKind.DEPARTMENT: "职能部门",
}


class DemandNotOpen(Conflict):
    code = "demand_not_open"


class AlreadyAtTheTop(Conflict):
    code = "already_at_the_top"


class NotRateable(Conflict):
    code = "not_rateable"


class RatingSettled(Conflict):
    """A rating is kept as given once its week to change it has passed."""

    code = "rating_settled"


class NotAnOrder(Conflict):
    """Only a delivery or errand (点单) is closed by its receiver's confirmation; other
    demands go through 核查."""

    code = "not_an_order"
