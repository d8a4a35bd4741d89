"""Awards and deductions by hand (人工奖励 / 扣分): their kinds and life cycle.

An adjustment up to the confirmation amount is posted as soon as it is asked for;
above it, it waits for a second staff member, who posts or rejects it. Either way it
is decided once, by the table below.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class AdjustmentKind(StrEnum):
    AWARD = "award"
    DEDUCT = "deduct"


class AdjustmentStatus(StrEnum):
    PENDING_CONFIRMATION = "pending_confirmation"  # waiting for a second staff member
    POSTED = "posted"  # its transfer is in the ledger
    REJECTED = "rejected"  # refused; nothing moved


class AdjustmentAction(StrEnum):
    POST = "post"  # on request when small, else on a second staff member's confirmation
    REJECT = "reject"


_PENDING = AdjustmentStatus.PENDING_CONFIRMATION
ADJUSTMENT_TRANSITIONS: Mapping[tuple[AdjustmentStatus, AdjustmentAction], AdjustmentStatus] = (
    MappingProxyType(
        {
            (_PENDING, AdjustmentAction.POST): AdjustmentStatus.POSTED,
            (_PENDING, AdjustmentAction.REJECT): AdjustmentStatus.REJECTED,
        }
    )
)
