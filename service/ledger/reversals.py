"""Reversals: a transfer is never edited; a mistake is undone by its reverse."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.errors import NotFound
from points.ledger import REVERSIBLE, AlreadyReversed, NotReversible, TransferKind
from service.ledger.models import Transfer
from service.ledger.posting import TransferRequest, post


def reverse(session: Session, transfer_id: int, *, actor_id: int | None, reason: str) -> Transfer:
    """Undo a transfer with its mirror image. Fails, changing nothing, if the points
    were spent meanwhile (balances never go below zero)."""
    original = session.get(Transfer, transfer_id)
    if original is None:
        raise NotFound("no such transfer")
    if TransferKind(original.kind) not in REVERSIBLE:
        raise NotReversible(f"a {original.kind} transfer cannot be reversed")
    # Said plainly rather than replayed: a second person reversing the same transfer
    # should hear it was done. (Two at the same instant still meet the unique key.)
    done = session.scalar(select(Transfer.id).where(Transfer.reverses_id == original.id))
    if done is not None:
        raise AlreadyReversed(f"transfer {original.id} was already reversed by transfer {done}")
    return post(
        session,
        TransferRequest(
            idempotency_key=f"reverse:{original.id}",
            kind=TransferKind.REVERSE,
            currency=original.currency,
            debit_account_id=original.credit_account_id,
            credit_account_id=original.debit_account_id,
            amount=original.amount,
            reverses_id=original.id,
            source=original.source,
            actor_id=actor_id,
            explanation=f"reverses transfer {original.id}: {reason}",
        ),
    )


def reverse_source(
    session: Session, source: str, *, actor_id: int | None, reason: str
) -> list[Transfer]:
    """Reverse every reversible transfer of one business source (an approved
    participation, say) that isn't reversed yet."""
    already = select(Transfer.reverses_id).where(Transfer.reverses_id.is_not(None))
    originals = session.scalars(
        select(Transfer)
        .where(
            Transfer.source == source,
            Transfer.kind.in_([kind.value for kind in REVERSIBLE]),
            Transfer.id.not_in(already),
        )
        .order_by(Transfer.id)
    ).all()
    return [reverse(session, t.id, actor_id=actor_id, reason=reason) for t in originals]
