"""`lianxin points expire`: spendable points past their date go to ``sink:expired``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.ledger import TransferKind
from service.ledger.accounts import EXPIRED_SINK, system_account
from service.ledger.lots import due, uses_of
from service.ledger.models import Currency, LedgerAccount, PointLot
from service.ledger.posting import TransferRequest, post
from service.unit_of_work import UnitOfWork

BATCH = 500


@dataclass
class ExpiryReport:
    lots: int = 0
    amounts: Counter[str] = field(default_factory=Counter)


def expire_due(uow: UnitOfWork, now: datetime, batch: int = BATCH) -> ExpiryReport:
    """Idempotent: a lot's expiry is keyed by the lot and how often it was used, so a
    rerun (or two runs at once) expires each remainder once."""
    report = ExpiryReport()
    with uow:
        session = uow.session
        while lots := due(session, now, batch):
            for lot in lots:
                account = session.get(LedgerAccount, lot.account_id)
                assert account is not None  # a lot's account is a foreign key
                _expire(session, lot, account, now)
                report.lots += 1
                report.amounts[account.currency] += lot.remaining
            uow.commit()
    return report


def _expire(session: Session, lot: PointLot, account: LedgerAccount, now: datetime) -> None:
    name = session.scalar(select(Currency.name).where(Currency.code == account.currency))
    post(
        session,
        TransferRequest(
            idempotency_key=f"expire:lot:{lot.id}:{uses_of(session, lot.id)}",
            kind=TransferKind.EXPIRE,
            currency=account.currency,
            debit_account_id=account.id,
            credit_account_id=system_account(session, EXPIRED_SINK, account.currency).id,
            amount=lot.remaining,
            lot_id=lot.id,
            source=f"lot:{lot.id}",
            explanation=(
                f"{lot.remaining} {name} unspent since {lot.expires_at.date().isoformat()} expired"
            ),
            created_at=now,
        ),
    )


@dataclass(frozen=True)
class Expiring:
    currency: str
    amount: int
    expires_at: datetime


def expiring_for(session: Session, user_id: int) -> list[Expiring]:
    """What a member has that will expire, soonest first."""
    rows = session.execute(
        select(LedgerAccount.currency, PointLot.remaining, PointLot.expires_at)
        .join(LedgerAccount, LedgerAccount.id == PointLot.account_id)
        .where(LedgerAccount.user_id == user_id, PointLot.remaining > 0)
        .order_by(PointLot.expires_at, PointLot.id)
    )
    return [Expiring(code, remaining, when) for code, remaining, when in rows]
