"""Resident demands and problem reports (居民诉求 / 问题上报): their life cycle.

收集 → 立项 → 落实 → 销号: a demand is submitted by a resident (or anyone living
there), staff accept it (the reporter is credited by rule) or decline it with a
reason, then resolve it and close it.

Escalation (吹哨报到: a grid calls a government department, which must respond within a
time limit) comes later. It extends this table: an ``ESCALATE`` action from
``ACCEPTED`` to an ``ESCALATED`` state, and a ``RESPOND`` back to ``ACCEPTED`` or on to
``RESOLVED``, with the department and its deadline on the demand. Nothing else here
needs to change for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from points.errors import Conflict


class DemandStatus(StrEnum):
    SUBMITTED = "submitted"  # 收集
    ACCEPTED = "accepted"  # 立项: worth doing; the reporter is credited
    DECLINED = "declined"  # not taken up, with a reason
    RESOLVED = "resolved"  # 落实/反馈: done, the reporter is told
    CLOSED = "closed"  # 销号

    @property
    def open(self) -> bool:
        return self in (DemandStatus.SUBMITTED, DemandStatus.ACCEPTED, DemandStatus.RESOLVED)


class DemandAction(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    RESOLVE = "resolve"
    CLOSE = "close"


DEMAND_TRANSITIONS: Mapping[tuple[DemandStatus, DemandAction], DemandStatus] = MappingProxyType(
    {
        (DemandStatus.SUBMITTED, DemandAction.ACCEPT): DemandStatus.ACCEPTED,
        (DemandStatus.SUBMITTED, DemandAction.DECLINE): DemandStatus.DECLINED,
        (DemandStatus.ACCEPTED, DemandAction.RESOLVE): DemandStatus.RESOLVED,
        # Closing an accepted demand without a resolution (it went away, or was merged
        # into another) is allowed; the reporter keeps the credit for reporting it.
        (DemandStatus.ACCEPTED, DemandAction.CLOSE): DemandStatus.CLOSED,
        (DemandStatus.RESOLVED, DemandAction.CLOSE): DemandStatus.CLOSED,
    }
)

# A task may be posted to serve a demand while it is still being worked on.
SERVABLE = frozenset({DemandStatus.SUBMITTED, DemandStatus.ACCEPTED})


class DemandNotOpen(Conflict):
    code = "demand_not_open"
