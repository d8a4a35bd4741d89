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


def _currencies(session: Session) -> dict[str, Currency]:
    known: dict[str, Currency] = transaction_cache(session, "ledger.currencies")
    if not known:
        # Both currencies at once: a use case that needs one needs the other next.
        # Reference data: reading it must not flush the caller's half-made changes.
        with session.no_autoflush:
            known.update((c.code, c) for c in session.scalars(select(Currency)))
    return known


def currency(session: Session, code: str) -> Currency:
    found = _currencies(session).get(code)
    if found is None:
        raise NotFound(f"no currency {code}", errors={"currency": ["unknown currency"]})
    return found


def member_account(session: Session, user_id: int, code: str) -> LedgerAccount:
    return _open(session, code, user_id=user_id)


def system_account(session: Session, key: str, code: str) -> LedgerAccount:
    return _open(session, code, system_key=key)


def _by_owner(session: Session) -> dict[tuple[str, int | None, str | None], LedgerAccount]:
    # Held for the transaction: posting reads the account again, by id, for free.
    return transaction_cache(session, "ledger.accounts_by_owner")


def locked_member_accounts(session: Session, user_id: int) -> dict[str, LedgerAccount]:
    """A member's account in every currency, row-locked in id order (as every ledger
    write locks), opened where missing, in one query when all exist."""
    known = _by_owner(session)
    found = {
        account.currency: account
        for account in session.scalars(
            select(LedgerAccount)
            .where(LedgerAccount.user_id == user_id)
            .order_by(LedgerAccount.id)
            .with_for_update()
        )
    }
    for code, account in found.items():
        known[(code, user_id, None)] = account
    opened = [code for code in _currencies(session) if code not in found]
    for code in opened:
        found[code] = _open(session, code, user_id=user_id)
    if opened:
        # A row we inserted is ours alone, but one a concurrent first credit inserted
        # (found after our insert met its unique key) must be locked like the rest.
        session.scalars(
            select(LedgerAccount.id)
            .where(LedgerAccount.id.in_([found[code].id for code in opened]))
            .order_by(LedgerAccount.id)
            .with_for_update()
        ).all()
    return found


def system_accounts(session: Session, key: str, codes: list[str]) -> dict[str, LedgerAccount]:
    """One system account (``issuance:<place>``, say) in several currencies at once."""
    known = _by_owner(session)
    wanted = [code for code in codes if (code, None, key) not in known]
    if wanted:
        for account in session.scalars(
            select(LedgerAccount).where(
                LedgerAccount.system_key == key, LedgerAccount.currency.in_(wanted)
            )
        ):
            known[(account.currency, None, key)] = account
    return {code: _open(session, code, system_key=key) for code in codes}


def _open(
    session: Session, code: str, *, user_id: int | None = None, system_key: str | None = None
) -> LedgerAccount:
    currency(session, code)
    known = _by_owner(session)
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
