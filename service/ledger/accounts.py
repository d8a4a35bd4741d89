"""Opening and finding ledger accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.errors import NotFound
from service.db import transaction_cache
from service.ledger.models import Currency, LedgerAccount


def issuance_key(place_id: int) -> str:
    """Where a place's points come from: it goes negative by what was issued."""
    return f"issuance:{place_id}"


EXPIRED_SINK = "sink:expired"


def redeemed_sink_key(station_id: int) -> str:
    return f"sink:redeemed:{station_id}"


def currency(session: Session, code: str) -> Currency:
    known: dict[str, Currency] = transaction_cache(session, "ledger.currencies")
    if not known:
        # Both currencies at once: a use case that needs one needs the other next.
        known.update((c.code, c) for c in session.scalars(select(Currency)))
    found = known.get(code)
    if found is None:
        raise NotFound(f"no currency {code}", errors={"currency": ["unknown currency"]})
    return found


def member_account(session: Session, user_id: int, code: str) -> LedgerAccount:
    return _open(session, code, user_id=user_id)


def system_account(session: Session, key: str, code: str) -> LedgerAccount:
    return _open(session, code, system_key=key)


def _open(
    session: Session, code: str, *, user_id: int | None = None, system_key: str | None = None
) -> LedgerAccount:
    currency(session, code)
    # Held for the transaction: posting reads the account again, by id, for free.
    known: dict[tuple[str, int | None, str | None], LedgerAccount] = transaction_cache(
        session, "ledger.accounts_by_owner"
    )
    found = known.get((code, user_id, system_key))
    if found is not None:
        return found
    owner = (
        LedgerAccount.user_id == user_id
        if user_id is not None
        else LedgerAccount.system_key == system_key
    )
    query = select(LedgerAccount).where(LedgerAccount.currency == code, owner)
    account = session.scalars(query).one_or_none()
    if account is None:
        try:
            with session.begin_nested():
                account = LedgerAccount(
                    currency=code,
                    user_id=user_id,
                    system_key=system_key,
                    # Members can't overdraw; issuance accounts are negative by design.
                    no_overdraft=not (system_key or "").startswith("issuance:"),
                )
                session.add(account)
        except IntegrityError:
            # Opened by a concurrent first transfer: use theirs.
            account = session.scalars(query).one()
    known[(code, user_id, system_key)] = account
    return account
