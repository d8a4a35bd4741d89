"""Holds (points reserved for a redemption until pickup): handed over, or released."""

from __future__ import annotations

from sqlalchemy.orm import Session

from points.errors import NotFound
from points.ledger import Phase, TransferKind
from service.ledger.models import Transfer
from service.ledger.posting import TransferRequest, post


def resolve_hold(
    session: Session,
    pending_id: int,
    *,
    hand_over: bool,
    actor_id: int | None,
    key: str,
    settle_to: int | None = None,
) -> Transfer:
    """Post a pending transfer (the goods were handed over) or void it (cancelled or
    expired). Either happens once.

    A hold reserves points in an escrow account; ``settle_to`` (with ``hand_over``)
    then moves them on from escrow to where they end up (``sink:redeemed:<station>``),
    as a second posted transfer keyed ``<key>:settle``. Two transfers rather than one
    post to another account, so every pending total still resolves on the account it
    was reserved on and ``ledger verify`` needs no special case."""
    pending = session.get(Transfer, pending_id)
    if pending is None or pending.phase != Phase.PENDING:
        raise NotFound("no such hold")
    resolved = post(
        session,
        TransferRequest(
            idempotency_key=key,
            kind=TransferKind.REDEEM_POST if hand_over else TransferKind.REDEEM_VOID,
            phase=Phase.POST_PENDING if hand_over else Phase.VOID_PENDING,
            currency=pending.currency,
            debit_account_id=pending.debit_account_id,
            credit_account_id=pending.credit_account_id,
            amount=pending.amount,
            pending_id=pending.id,
            source=pending.source,
            actor_id=actor_id,
        ),
    )
    if hand_over and settle_to is not None:
        post(
            session,
            TransferRequest(
                idempotency_key=f"{key}:settle",
                kind=TransferKind.REDEEM_POST,
                currency=pending.currency,
                debit_account_id=pending.credit_account_id,
                credit_account_id=settle_to,
                amount=pending.amount,
                source=pending.source,
                actor_id=actor_id,
                explanation=f"settles hold {pending.id}",
            ),
        )
    return resolved
