"""Small ways to put points in place for tests, through the real posting code."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from points.ledger import Phase, TransferKind
from service.ledger.accounts import issuance_key, member_account, redeemed_sink_key, system_account
from service.ledger.models import Transfer
from service.ledger.posting import TransferRequest, post


def credit(
    session: Session,
    user_id: int,
    currency: str,
    amount: int,
    kind: TransferKind = TransferKind.EARN,
    key: str | None = None,
) -> Transfer:
    transfer = post(
        session,
        TransferRequest(
            idempotency_key=key or f"test:{uuid.uuid4().hex}",
            kind=kind,
            currency=currency,
            debit_account_id=system_account(session, issuance_key(1), currency).id,
            credit_account_id=member_account(session, user_id, currency).id,
            amount=amount,
            explanation=f"test credit of {amount}",
        ),
    )
    session.commit()
    return transfer


def spend_request(
    session: Session, user_id: int, amount: int, key: str, *, pending: bool = False
) -> TransferRequest:
    return TransferRequest(
        idempotency_key=key,
        kind=TransferKind.REDEEM_HOLD if pending else TransferKind.DEDUCT,
        phase=Phase.PENDING if pending else Phase.POSTED,
        currency="xingfubi",
        debit_account_id=member_account(session, user_id, "xingfubi").id,
        credit_account_id=system_account(session, redeemed_sink_key(1), "xingfubi").id,
        amount=amount,
    )
