"""Writing to the ledger. Every change of a balance happens here, by conditional SQL.

A transfer row is inserted first, ``ON CONFLICT DO NOTHING``: its unique idempotency
key makes a concurrent duplicate wait on the index and then find the first transfer.
A member's account is then updated at once, the debit side only ``WHERE`` the
account's limit still holds, so a refusal comes before anything else is done.

System accounts (``issuance:<place>``, escrow, sinks) are shared by everyone: every
approval in a street credits from the same issuance row. Their totals change only in
the ways no limit can refuse (credits; debits of accounts without a limit), so the
change is the same whenever it is made, and it is made as the last statement before
COMMIT (``_apply_deferred``), in account id order. The row lock is then held for one
round trip instead of the whole use case, and approvals don't queue behind each other.
A member's account that the transaction locked up front (crediting does, before it
prices the work) is changed the same way when no limit applies: its lock is held
already, and the change rides along with the system accounts' in that statement.

An error from ``post`` leaves the transaction unusable: the use case rolls back (the
unit of work does), which also forgets the deferred totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from points.errors import Conflict, InvalidInput, NotFound
from points.ledger import (
    AlreadyResolved,
    AlreadyReversed,
    IdempotencyKeyReused,
    InsufficientBalance,
    Phase,
    Totals,
    TransferKind,
    contribution,
)
from service import telemetry
from service.db import rows_changed, utcnow
from service.ledger import earnings, lots
from service.ledger.accounts import LOCKED, AccountRef, account_ref
from service.ledger.models import ACCOUNT_TABLE, TRANSFER_TABLE, Transfer
from service.unit_of_work import run_before_commit, transaction_cache


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
    return post_many(session, [request])[0]


# Built once, as Core: every transfer runs it, and building one costs more than running
# it. ``ON CONFLICT DO NOTHING``: a request whose key is taken gets no row back.
_INSERT_TRANSFERS = {
    name: insert(TRANSFER_TABLE)
    .on_conflict_do_nothing()
    .returning(TRANSFER_TABLE.c.id, TRANSFER_TABLE.c.idempotency_key)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def post_many(session: Session, requests: Sequence[TransferRequest]) -> list[Transfer]:
    """Several transfers, recorded and moved exactly as ``post`` would one after the
    other, in fewer statements: one INSERT for all of them, one UPDATE per kind of
    change for the accounts moved at once, one INSERT each for their lots and their
    outbox rows. Returned in the order asked."""
    if not requests:
        return []
    for request in requests:
        if request.amount <= 0:
            raise InvalidInput("amounts are positive", errors={"amount": ["must be positive"]})
    sides = [
        (
            _account(session, request.debit_account_id, request.currency),
            _account(session, request.credit_account_id, request.currency),
        )
        for request in requests
    ]
    rows = [_row(request) for request in requests]
    insert = _INSERT_TRANSFERS[session.get_bind().dialect.name]
    inserted = {key: id for id, key in session.execute(insert, rows)}
    moves = _Moves(session)
    posted: list[tuple[Transfer, int | None, AccountRef, AccountRef]] = []
    transfers: list[Transfer] = []
    for request, row, (debit, credit) in zip(requests, rows, sides, strict=True):
        # Popped: a key asked twice in one batch is recorded once, as ``post`` twice would.
        transfer_id = inserted.pop(request.idempotency_key, None)
        if transfer_id is None:
            transfers.append(_already_there(session, request))
            continue
        transfer = _as_transfer(transfer_id, row)
        for account in sorted((debit, credit), key=lambda a: a.id):
            moves.add(request, account, is_debit=account is debit)
        posted.append((transfer, request.lot_id, debit, credit))
        transfers.append(transfer)
    moves.apply()
    lots.track_many(session, posted)
    earnings.record_many(
        session, [(transfer, credit, debit) for transfer, _, debit, credit in posted]
    )
    for transfer, *_ in posted:
        # Counted when written, so a transfer whose use case later rolls back is counted too.
        telemetry.transfer_posted(transfer.kind, transfer.currency)
    return transfers


_NEW_TRANSFER = inspect(Transfer).class_manager.new_instance


def _as_transfer(transfer_id: int, row: dict[str, Any]) -> Transfer:
    """The transfer just inserted, as the object callers get: its values set directly,
    without the attribute events of ``Transfer(...)`` (ten times the cost), as nothing
    tracks changes to it (it is in no session; transfers never change)."""
    transfer = _NEW_TRANSFER()
    transfer.__dict__.update(row, id=transfer_id)
    return transfer


def _row(request: TransferRequest) -> dict[str, Any]:
    return {
        "idempotency_key": request.idempotency_key,
        "kind": request.kind.value,
        "phase": request.phase.value,
        "currency": request.currency,
        "debit_account_id": request.debit_account_id,
        "credit_account_id": request.credit_account_id,
        "amount": request.amount,
        "pending_id": request.pending_id,
        "reverses_id": request.reverses_id,
        "source": request.source,
        "actor_id": request.actor_id,
        "rule_set_version": request.rule_set_version,
        "explanation": request.explanation,
        # As the column would store and return it.
        "created_at": (request.created_at or utcnow()).astimezone(UTC),
    }


def _already_there(session: Session, request: TransferRequest) -> Transfer:
    """The insert met a unique index: a retry of the same transfer (answered with the
    first), or a second resolution or reversal of one that allows only one."""
    replayed = _replay(session, request)
    if replayed is not None:
        return replayed
    if request.pending_id is not None:
        raise AlreadyResolved("this hold was already handed over or released")
    if request.reverses_id is not None:
        raise AlreadyReversed("this transfer has already been reversed")
    raise Conflict("this transfer clashes with one already recorded")


_DEFERRED = "lianxin.ledger.deferred"


def _account(session: Session, account_id: int, currency: str) -> AccountRef:
    """The account, read once a transaction: who owns it and its limit never change
    (its totals are never read into Python)."""
    account = account_ref(session, account_id)
    if account is None or account.currency != currency:
        raise NotFound(f"no {currency} account {account_id}")
    return account


class _Moves:
    """The totals a batch of transfers changes, decided one transfer after another as
    ``post`` always has, then written together: the accounts changed now go in id
    order (each account's changes in the order asked), one statement per run of the
    same kind of change."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.now: list[tuple[int, bool, dict[str, int]]] = []  # account id, limited, params

    def add(self, request: TransferRequest, account: AccountRef, *, is_debit: bool) -> None:
        session, phase = self.session, request.phase
        delta = contribution(phase, request.amount, debit=is_debit)
        limited = is_debit and account.no_overdraft and phase in (Phase.POSTED, Phase.PENDING)
        deferred: dict[int, Totals] = transaction_cache(session, _DEFERRED)
        shared_or_held = account.user_id is None or account.id in transaction_cache(session, LOCKED)
        if shared_or_held and not limited and not session.in_nested_transaction():
            if not deferred:
                run_before_commit(session, _DEFERRED, _apply_deferred)
            deferred[account.id] = deferred.get(account.id, Totals()) + delta
            return
        # What this transaction deferred for the account goes first: the limit must see
        # it (escrow credited by a pickup's first step, then debited by its second).
        delta = deferred.pop(account.id, Totals()) + delta
        self.now.append((account.id, limited, _params(account.id, delta)))

    def apply(self) -> None:
        self.now.sort(key=lambda move: move[0])
        for limited, run in groupby(self.now, key=lambda move: move[1]):
            params = [move[2] for move in run]
            statement = _ADD_WITHIN_LIMIT if limited else _ADD
            if rows_changed(self.session.execute(statement, params)) != len(params):
                raise InsufficientBalance("not enough points for this")
        self.now.clear()


# Built once: every transfer runs them, and building one costs more than running it.
_ADD = (
    update(ACCOUNT_TABLE)
    .where(ACCOUNT_TABLE.c.id == bindparam("account_id"))
    .values(
        debits_pending=ACCOUNT_TABLE.c.debits_pending + bindparam("debits_pending"),
        debits_posted=ACCOUNT_TABLE.c.debits_posted + bindparam("debits_posted"),
        credits_pending=ACCOUNT_TABLE.c.credits_pending + bindparam("credits_pending"),
        credits_posted=ACCOUNT_TABLE.c.credits_posted + bindparam("credits_posted"),
    )
)
# After the change the account is still within its limit.
_ADD_WITHIN_LIMIT = _ADD.where(
    ACCOUNT_TABLE.c.debits_posted
    + bindparam("debits_posted")
    + ACCOUNT_TABLE.c.debits_pending
    + bindparam("debits_pending")
    <= ACCOUNT_TABLE.c.credits_posted + bindparam("credits_posted")
)


def _params(account_id: int, delta: Totals) -> dict[str, int]:
    return {
        "account_id": account_id,
        "debits_pending": delta.debits_pending,
        "debits_posted": delta.debits_posted,
        "credits_pending": delta.credits_pending,
        "credits_posted": delta.credits_posted,
    }


def _apply_deferred(session: Session) -> None:
    deferred: dict[int, Totals] = transaction_cache(session, _DEFERRED)
    if deferred:
        # One statement run once per account, in id order: each row is locked for the
        # last round trip only.
        params = [_params(account_id, deferred[account_id]) for account_id in sorted(deferred)]
        session.execute(_ADD, params)
        deferred.clear()
