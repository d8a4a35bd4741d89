"""Writing to the ledger. Every change of a balance happens here, by conditional SQL.

A transfer row is inserted first: its unique idempotency key makes a concurrent
duplicate wait on the index and then find the first transfer. The two accounts
are then updated in id order (so two transfers never lock them in opposite
orders), the debit side only ``WHERE`` the account's limit still holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.errors import InvalidInput, NotFound
from points.ledger import (
    REVERSIBLE,
    AlreadyResolved,
    AlreadyReversed,
    IdempotencyKeyReused,
    InsufficientBalance,
    NotReversible,
    Phase,
    TransferKind,
    contribution,
)
from service.db import rows_changed, utcnow
from service.leaderboards import outbox
from service.ledger import lots
from service.ledger.models import LedgerAccount, Transfer


@dataclass(frozen=True)
class TransferRequest:
    idempotency_key: str
    kind: TransferKind
    currency: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    phase: Phase = Phase.POSTED
    pending_id: int | None = None
    reverses_id: int | None = None
    source: str | None = None
    actor_id: int | None = None
    rule_set_version: str | None = None
    explanation: str = ""
    created_at: datetime | None = None  # the use case's "now"; the clock if not given
    lot_id: int | None = None  # expiry takes from this lot rather than the oldest

    def same_as(self, transfer: Transfer) -> bool:
        return (
            transfer.kind == self.kind
            and transfer.phase == self.phase
            and transfer.currency == self.currency
            and transfer.debit_account_id == self.debit_account_id
            and transfer.credit_account_id == self.credit_account_id
            and transfer.amount == self.amount
            and transfer.pending_id == self.pending_id
            and transfer.reverses_id == self.reverses_id
        )


def find_by_key(session: Session, key: str) -> Transfer | None:
    return session.scalars(select(Transfer).where(Transfer.idempotency_key == key)).one_or_none()


def _replay(session: Session, request: TransferRequest) -> Transfer | None:
    existing = find_by_key(session, request.idempotency_key)
    if existing is None:
        return None
    if not request.same_as(existing):
        raise IdempotencyKeyReused(
            f"{request.idempotency_key} was already used for a different transfer"
        )
    return existing


def post(session: Session, request: TransferRequest) -> Transfer:
    """Record one transfer and move the totals; the same request again returns the
    first transfer and moves nothing."""
    if request.amount <= 0:
        raise InvalidInput("amounts are positive", errors={"amount": ["must be positive"]})
    replayed = _replay(session, request)
    if replayed is not None:
        return replayed
    try:
        with session.begin_nested():
            transfer = Transfer(
                idempotency_key=request.idempotency_key,
                kind=request.kind.value,
                phase=request.phase.value,
                currency=request.currency,
                debit_account_id=request.debit_account_id,
                credit_account_id=request.credit_account_id,
                amount=request.amount,
                pending_id=request.pending_id,
                reverses_id=request.reverses_id,
                source=request.source,
                actor_id=request.actor_id,
                rule_set_version=request.rule_set_version,
                explanation=request.explanation,
                created_at=request.created_at or utcnow(),
            )
            session.add(transfer)
            session.flush()
            _move_totals(session, request)
            lots.track(session, transfer, request.lot_id)
            outbox.record(session, transfer)  # the leaderboards hear of it in this transaction
    except IntegrityError:
        replayed = _replay(session, request)  # lost a race to the same key: it's a retry
        if replayed is not None:
            return replayed
        if request.pending_id is not None:
            raise AlreadyResolved("this hold was already handed over or released") from None
        if request.reverses_id is not None:
            raise AlreadyReversed("this transfer has already been reversed") from None
        raise
    return transfer


def _move_totals(session: Session, request: TransferRequest) -> None:
    phase, amount = request.phase, request.amount
    sides = {request.debit_account_id: True, request.credit_account_id: False}
    for account_id in sorted(sides):
        is_debit = sides[account_id]
        delta = contribution(phase, amount, debit=is_debit)
        statement = (
            update(LedgerAccount)
            .where(LedgerAccount.id == account_id, LedgerAccount.currency == request.currency)
            .values(
                debits_pending=LedgerAccount.debits_pending + delta.debits_pending,
                debits_posted=LedgerAccount.debits_posted + delta.debits_posted,
                credits_pending=LedgerAccount.credits_pending + delta.credits_pending,
                credits_posted=LedgerAccount.credits_posted + delta.credits_posted,
            )
            .execution_options(synchronize_session=False)
        )
        if is_debit and phase in (Phase.POSTED, Phase.PENDING):
            statement = statement.where(
                ~LedgerAccount.no_overdraft
                | (
                    LedgerAccount.debits_posted + LedgerAccount.debits_pending + amount
                    <= LedgerAccount.credits_posted
                )
            )
        if rows_changed(session.execute(statement)) != 1:
            if _account_exists(session, account_id, request.currency):
                raise InsufficientBalance("not enough points for this")
            raise NotFound(f"no {request.currency} account {account_id}")


def _account_exists(session: Session, account_id: int, currency: str) -> bool:
    found = session.scalar(
        select(LedgerAccount.id).where(
            LedgerAccount.id == account_id, LedgerAccount.currency == currency
        )
    )
    return found is not None


def resolve_hold(
    session: Session, pending_id: int, *, hand_over: bool, actor_id: int | None, key: str
) -> Transfer:
    """Post a pending transfer (the goods were handed over) or void it (cancelled or
    expired). Either happens once."""
    pending = session.get(Transfer, pending_id)
    if pending is None or pending.phase != Phase.PENDING:
        raise NotFound("no such hold")
    return post(
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
