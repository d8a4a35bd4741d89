"""Writing the leaderboard outbox beside a transfer, in its transaction.

Only transfers that change a member's *earned* score are written (see
``points.ledger.EARNING``): an earn or award credited to a member counts up; the
reversal of one counts down, in the period the original was earned in. Spending,
holds, expiry, deductions and reversals of those leave boards alone.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from points.leaderboard import Scope
from points.ledger import EARNING, TransferKind
from service.leaderboards.members import members
from service.leaderboards.models import LeaderboardEvent
from service.ledger.models import LedgerAccount, Transfer

# Outbox rows written by this session's transaction, for the unit of work to apply
# right after commit (anything it misses, the sweeper applies).
WRITTEN = "lianxin.leaderboard_outbox"


def record(session: Session, transfer: Transfer) -> LeaderboardEvent | None:
    kind = TransferKind(transfer.kind)
    if kind in EARNING:
        account_id, delta, earned_at = transfer.credit_account_id, transfer.amount, None
    elif kind is TransferKind.REVERSE and transfer.reverses_id is not None:
        original = session.get(Transfer, transfer.reverses_id)
        if original is None or TransferKind(original.kind) not in EARNING:
            return None
        account_id, delta, earned_at = transfer.debit_account_id, -transfer.amount, original
    else:
        return None
    account = session.get(LedgerAccount, account_id)
    if account is None or account.user_id is None:
        return None
    event = LeaderboardEvent(
        transfer_id=transfer.id,
        user_id=account.user_id,
        currency=transfer.currency,
        delta=delta,
        earned_at=(earned_at or transfer).created_at,
        created_at=transfer.created_at,
    )
    session.add(event)
    session.flush()
    session.info.setdefault(WRITTEN, []).append(event)
    return event


# People whose boards change as a whole (hidden, shown again, moved): user id → the
# scopes they were on before the change, for the unit of work to redo after commit.
CHANGED = "lianxin.leaderboard_members"


def member_changed(session: Session, user_id: int) -> None:
    """Call before changing anything that decides a member's boards (residence,
    branch, hidden): after commit they leave the old boards and join the new ones."""
    before = members(session, [user_id]).get(user_id)
    changed: dict[int, tuple[Scope, ...]] = session.info.setdefault(CHANGED, {})
    changed.setdefault(user_id, before.scopes if before else ())
