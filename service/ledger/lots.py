"""Lots: which credits a member's spendable points came from, and when they expire.

Called by ``posting`` for every new transfer, after the accounts' totals moved (so a
member account's row lock already serialises its lots).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from points.ledger import Phase
from service.db import rows_changed
from service.ledger.accounts import AccountRef, currency
from service.ledger.models import LotUse, PointLot, Transfer

_INSERT_LOTS = insert(cast(Table, PointLot.__table__))  # built once: every earning runs it


def track_many(
    session: Session,
    posted: Sequence[tuple[Transfer, int | None, AccountRef, AccountRef]],
) -> None:
    """Each new transfer with the lot it was to take from (expiry names one) and its
    debit and credit accounts, in the order posted: a credit to a member opens a lot, a
    debit takes from the lots. New lots are written together, before the first debit
    that might take from them."""
    opened: list[dict[str, Any]] = []
    for transfer, lot_id, debit, credit in posted:
        lifetime = currency(session, transfer.currency).expires_after_days
        if lifetime is None:
            continue
        phase = Phase(transfer.phase)
        if credit.user_id is not None and phase is Phase.POSTED:
            opened.append(
                {
                    "account_id": transfer.credit_account_id,
                    "transfer_id": transfer.id,
                    "amount": transfer.amount,
                    "remaining": transfer.amount,
                    "expires_at": transfer.created_at + timedelta(days=lifetime),
                }
            )
        if debit.user_id is not None:
            if opened:
                session.execute(_INSERT_LOTS, opened)
                opened = []
            if phase in (Phase.POSTED, Phase.PENDING):
                _consume(session, transfer, lot_id)
            elif phase is Phase.VOID_PENDING and transfer.pending_id is not None:
                _give_back(session, transfer, transfer.pending_id)
    if opened:
        session.execute(_INSERT_LOTS, opened)


def _consume(session: Session, transfer: Transfer, lot_id: int | None) -> None:
    """Take the amount from the lots that expire first (or from one named lot)."""
    query = select(PointLot.id, PointLot.remaining).where(
        PointLot.account_id == transfer.debit_account_id, PointLot.remaining > 0
    )
    if lot_id is not None:
        query = query.where(PointLot.id == lot_id)
    left = transfer.amount
    for lot, remaining in session.execute(query.order_by(PointLot.expires_at, PointLot.id)):
        take = min(left, remaining)
        _change_lot(session, lot, -take)
        session.add(LotUse(lot_id=lot, transfer_id=transfer.id, amount=take))
        left -= take
        if left == 0:
            return
    # The account totals allowed the debit, so lots must cover it; if not, they drifted.
    raise RuntimeError(f"lots of account {transfer.debit_account_id} short by {left}")


def _give_back(session: Session, transfer: Transfer, hold_id: int) -> None:
    for lot, amount in session.execute(
        select(LotUse.lot_id, LotUse.amount).where(LotUse.transfer_id == hold_id)
    ):
        _change_lot(session, lot, amount)
        session.add(LotUse(lot_id=lot, transfer_id=transfer.id, amount=-amount))


def _change_lot(session: Session, lot_id: int, delta: int) -> None:
    changed = rows_changed(
        session.execute(
            update(PointLot)
            .where(
                PointLot.id == lot_id,
                PointLot.remaining + delta >= 0,
                PointLot.remaining + delta <= PointLot.amount,
            )
            .values(remaining=PointLot.remaining + delta)
            .execution_options(synchronize_session=False)
        )
    )
    if changed != 1:
        raise RuntimeError(f"lot {lot_id} cannot change by {delta}")


def due(session: Session, now: datetime, limit: int) -> list[PointLot]:
    return list(
        session.scalars(
            select(PointLot)
            .where(PointLot.remaining > 0, PointLot.expires_at <= now)
            .order_by(PointLot.expires_at, PointLot.id)
            .limit(limit)
        )
    )


def uses_of(session: Session, lot_id: int) -> int:
    return len(session.scalars(select(LotUse.id).where(LotUse.lot_id == lot_id)).all())
