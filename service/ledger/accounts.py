"""Opening and finding ledger accounts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.errors import NotFound
from service.ledger.models import ACCOUNT_TABLE, CURRENCY_TABLE, LedgerAccount
from service.unit_of_work import transaction_cache


def issuance_key(place_id: int) -> str:
    """Where a place's points come from: it goes negative by what was issued."""
    return f"issuance:{place_id}"


EXPIRED_SINK = "sink:expired"


def redeemed_sink_key(station_id: int) -> str:
    return f"sink:redeemed:{station_id}"


@dataclass(frozen=True, slots=True)
class CurrencyFacts:
    """A currency's row. Reference data, seeded by migrations and never changed by the
    application: read once per process and engine."""

    code: str
    name: str
    scale: int
    spendable: bool
    expires_after_days: int | None


_CURRENCY_ROWS = select(
    CURRENCY_TABLE.c.code,
    CURRENCY_TABLE.c.name,
    CURRENCY_TABLE.c.scale,
    CURRENCY_TABLE.c.spendable,
    CURRENCY_TABLE.c.expires_after_days,
)
_KNOWN_CURRENCIES: WeakKeyDictionary[Engine, dict[str, CurrencyFacts]] = WeakKeyDictionary()


def _currencies(session: Session, *, reload: bool = False) -> dict[str, CurrencyFacts]:
    engine = session.get_bind().engine
    known = _KNOWN_CURRENCIES.get(engine)
    if known is None or reload:
        # Both currencies at once: a use case that needs one needs the other next.
        # Reference data: reading it must not flush the caller's half-made changes.
        with session.no_autoflush:
            known = {row.code: CurrencyFacts(*row) for row in session.execute(_CURRENCY_ROWS)}
        _KNOWN_CURRENCIES[engine] = known
    return known


def currency(session: Session, code: str) -> CurrencyFacts:
    found = _currencies(session).get(code)
    if found is None:
        # Read again before refusing: a currency added since this process read them.
        found = _currencies(session, reload=True).get(code)
    if found is None:
        raise NotFound(f"no currency {code}", errors={"currency": ["unknown currency"]})
    return found


@dataclass(frozen=True, slots=True)
class AccountRef:
    """An account as posting needs it: none of this ever changes once it is opened (its
    totals are never read into Python)."""

    id: int
    currency: str
    user_id: int | None
    no_overdraft: bool


_REFS = "ledger.account_refs"  # id → AccountRef, for the transaction
LOCKED = "ledger.locked"  # ids (as keys) of member accounts this transaction has locked
_SYSTEM_REFS = "ledger.system_refs"  # (system key, currency) → AccountRef


def remember(session: Session, refs: Iterable[AccountRef]) -> None:
    known: dict[int, AccountRef] = transaction_cache(session, _REFS)
    for ref in refs:
        known[ref.id] = ref


def account_ref(session: Session, account_id: int) -> AccountRef | None:
    """The account by id, read once a transaction."""
    known: dict[int, AccountRef] = transaction_cache(session, _REFS)
    ref = known.get(account_id)
    if ref is None:
        account = session.get(LedgerAccount, account_id)
        if account is None:
            return None
        ref = known[account_id] = _ref(account)
    return ref


def _ref(account: LedgerAccount) -> AccountRef:
    return AccountRef(account.id, account.currency, account.user_id, account.no_overdraft)


def member_account(session: Session, user_id: int, code: str) -> LedgerAccount:
    return _open(session, code, user_id=user_id)


def system_account(session: Session, key: str, code: str) -> LedgerAccount:
    return _open(session, code, system_key=key)


def _by_owner(session: Session) -> dict[tuple[str, int | None, str | None], LedgerAccount]:
    # Held for the transaction: posting reads the account again, by id, for free.
    return transaction_cache(session, "ledger.accounts_by_owner")


_ISSUER = ACCOUNT_TABLE.alias("issuer")
# Built once, as Core: every approval runs them. Only the member's rows are locked; the
# system accounts named by ``beside`` come along unlocked (see ``posting``: their
# totals change at COMMIT), saving a query of their own.
_LOCK_MEMBER_ACCOUNTS = (
    select(
        ACCOUNT_TABLE.c.id,
        ACCOUNT_TABLE.c.currency,
        ACCOUNT_TABLE.c.no_overdraft,
        _ISSUER.c.id,
        _ISSUER.c.no_overdraft,
    )
    .outerjoin(
        _ISSUER,
        (_ISSUER.c.system_key == bindparam("beside"))
        & (_ISSUER.c.currency == ACCOUNT_TABLE.c.currency),
    )
    .where(ACCOUNT_TABLE.c.user_id == bindparam("user_id"))
    .order_by(ACCOUNT_TABLE.c.id)
    .with_for_update(of=ACCOUNT_TABLE)
)
_SYSTEM_ACCOUNTS = select(
    ACCOUNT_TABLE.c.id, ACCOUNT_TABLE.c.currency, ACCOUNT_TABLE.c.no_overdraft
).where(ACCOUNT_TABLE.c.system_key == bindparam("key"))
_OPEN_MEMBER_ACCOUNT = {
    "postgresql": postgresql.insert(ACCOUNT_TABLE).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(ACCOUNT_TABLE).on_conflict_do_nothing(),
}


def locked_member_accounts(
    session: Session, user_id: int, *, beside: str | None = None
) -> dict[str, AccountRef]:
    """A member's account in every currency, row-locked in id order (as every ledger
    write locks), opened where missing, in one query when all exist. The system
    accounts keyed ``beside`` (where the points will come from) are read in the same
    query, unlocked, for ``system_accounts`` to find."""
    params = {"user_id": user_id, "beside": beside}
    rows = session.execute(_LOCK_MEMBER_ACCOUNTS, params).all()
    have = {code for _, code, _, _, _ in rows}
    missing = [code for code in _currencies(session) if code not in have]
    if missing:
        # A concurrent first credit may open the same accounts at this moment: its rows
        # win the unique key (ours are skipped) and the read below locks whichever
        # exist, all in id order again.
        insert = _OPEN_MEMBER_ACCOUNT[session.get_bind().dialect.name]
        session.execute(
            insert,
            [{"currency": code, "user_id": user_id, "no_overdraft": True} for code in missing],
        )
        rows = session.execute(_LOCK_MEMBER_ACCOUNTS, params).all()
    found = {code: AccountRef(id, code, user_id, limited) for id, code, limited, _, _ in rows}
    remember(session, found.values())
    transaction_cache(session, LOCKED).update(dict.fromkeys(ref.id for ref in found.values()))
    if beside is not None:
        issuing = [
            AccountRef(issuer_id, code, None, issuer_limited)
            for _, code, _, issuer_id, issuer_limited in rows
            if issuer_id is not None
        ]
        _remember_system(session, beside, issuing)
    return found


def _remember_system(session: Session, key: str, refs: list[AccountRef]) -> None:
    known: dict[tuple[str, str], AccountRef] = transaction_cache(session, _SYSTEM_REFS)
    for ref in refs:
        known[(key, ref.currency)] = ref
    remember(session, refs)


def system_accounts(session: Session, key: str, codes: list[str]) -> dict[str, AccountRef]:
    """One system account (``issuance:<place>``, say) in several currencies at once,
    opened where missing."""
    known: dict[tuple[str, str], AccountRef] = transaction_cache(session, _SYSTEM_REFS)
    if any((key, code) not in known for code in codes):
        rows = session.execute(_SYSTEM_ACCOUNTS, {"key": key})
        _remember_system(session, key, [AccountRef(id, code, None, lim) for id, code, lim in rows])
    for code in codes:
        if (key, code) not in known:
            _remember_system(session, key, [_ref(_open(session, code, system_key=key))])
    return {code: known[(key, code)] for code in codes}


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
