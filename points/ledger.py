"""The ledger's vocabulary and arithmetic (after TigerBeetle's accounts and transfers).

An account keeps four running totals. A posted transfer moves an amount from one
account's debits to another's credits; a pending one reserves it, and is later
posted or voided exactly once. Applying every transfer in order to empty totals
must give the stored totals: that is what ``lianxin ledger verify`` checks, with
the same ``contribution`` function the database writes follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from points.errors import Conflict


class TransferKind(StrEnum):
    EARN = "earn"  # by rule, for work or a report
    AWARD = "award"  # by hand, by staff
    DEDUCT = "deduct"  # by hand, by staff
    REVERSE = "reverse"  # undoes one earlier transfer
    REDEEM_HOLD = "redeem_hold"  # pending: points reserved for goods
    REDEEM_POST = "redeem_post"  # the hold, handed over
    REDEEM_VOID = "redeem_void"  # the hold, cancelled or expired
    EXPIRE = "expire"  # spendable points past their date


class Phase(StrEnum):
    POSTED = "posted"
    PENDING = "pending"
    POST_PENDING = "post_pending"  # resolves a pending transfer: it happened
    VOID_PENDING = "void_pending"  # resolves a pending transfer: it didn't


# Kinds whose transfer may be undone by a reversal; holds are voided instead, and a
# reversal is never itself reversed (make a new award instead).
REVERSIBLE = frozenset(
    {TransferKind.EARN, TransferKind.AWARD, TransferKind.DEDUCT, TransferKind.REDEEM_POST}
)

# What counts as *earned* (the "earned total" and the leaderboards): points earned by
# rule or awarded by hand. A reversal of one of these takes it back; spending, expiry,
# deductions and reversals of anything else don't change what was earned.
EARNING = frozenset({TransferKind.EARN, TransferKind.AWARD})


class InsufficientBalance(Conflict):
    code = "insufficient_balance"


class AlreadyReversed(Conflict):
    code = "already_reversed"


class NotReversible(Conflict):
    code = "not_reversible"


class AlreadyResolved(Conflict):
    code = "already_resolved"


class IdempotencyKeyReused(Conflict):
    """The same business key arrived with different content: a client bug, not a retry."""

    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Totals:
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.debits_pending + other.debits_pending,
            self.debits_posted + other.debits_posted,
            self.credits_pending + other.credits_pending,
            self.credits_posted + other.credits_posted,
        )

    @property
    def balance(self) -> int:
        """What the owner has: posted credits less posted debits."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What the owner may still spend: the balance less what holds reserve."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    def within_limit(self) -> bool:
        """A member may never spend, or reserve, more than they were credited."""
        return self.debits_posted + self.debits_pending <= self.credits_posted


def contribution(phase: Phase, amount: int, *, debit: bool) -> Totals:
    """How one transfer changes one of its two accounts."""
    pending, posted = {
        Phase.POSTED: (0, amount),
        Phase.PENDING: (amount, 0),
        Phase.POST_PENDING: (-amount, amount),
        Phase.VOID_PENDING: (-amount, 0),
    }[phase]
    if debit:
        return Totals(debits_pending=pending, debits_posted=posted)
    return Totals(credits_pending=pending, credits_posted=posted)
