"""What a member sees of their points: balances and the transfers behind them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from points.access import Actor
from points.ledger import EARNING, Totals
from service.ledger.models import Currency, LedgerAccount, Transfer
from service.people.admin import get_person
from service.people.models import User

EARNING_KINDS = tuple(sorted(kind.value for kind in EARNING))


@dataclass(frozen=True)
class AccountView:
    currency: str
    name: str
    balance: int
    available: int  # balance less what open redemption holds reserve
    earned_total: int  # ever earned or awarded, less reversals of those; spending doesn't lower it


def earned_totals(session: Session, account_ids: list[int]) -> dict[int, int]:
    if not account_ids:
        return {}
    # Not dict(result): a Result has .keys(), so dict() would treat it as a mapping.
    earned: dict[int, int] = {  # noqa: C416
        account_id: amount
        for account_id, amount in session.execute(
            select(Transfer.credit_account_id, func.sum(Transfer.amount))
            .where(Transfer.credit_account_id.in_(account_ids), Transfer.kind.in_(EARNING_KINDS))
            .group_by(Transfer.credit_account_id)
        )
    }
    original = aliased(Transfer)
    taken_back = session.execute(
        select(Transfer.debit_account_id, func.sum(Transfer.amount))
        .join(original, original.id == Transfer.reverses_id)
        .where(Transfer.debit_account_id.in_(account_ids), original.kind.in_(EARNING_KINDS))
        .group_by(Transfer.debit_account_id)
    )
    for account_id, amount in taken_back:
        earned[account_id] = earned.get(account_id, 0) - amount
    return {account_id: int(amount) for account_id, amount in earned.items()}


def accounts_of(session: Session, user_id: int) -> list[AccountView]:
    """Every currency, including those the member has no transfers in yet."""
    accounts = {
        account.currency: account
        for account in session.scalars(
            select(LedgerAccount).where(LedgerAccount.user_id == user_id)
        )
    }
    earned = earned_totals(session, [a.id for a in accounts.values()])
    views = []
    for currency in session.scalars(select(Currency).order_by(Currency.code)):
        account = accounts.get(currency.code)
        totals = (
            Totals(
                account.debits_pending,
                account.debits_posted,
                account.credits_pending,
                account.credits_posted,
            )
            if account
            else Totals()
        )
        views.append(
            AccountView(
                currency=currency.code,
                name=currency.name,
                balance=totals.balance,
                available=totals.available,
                earned_total=earned.get(account.id, 0) if account else 0,
            )
        )
    return views


@dataclass(frozen=True)
class TransferView:
    transfer: Transfer
    direction: str  # "in" or "out", seen from the member's account
    # Who made it, by the name they go by now: a proxy (代办) redeeming for the member
    # shows here, as staff approving their work do.
    actor_name: str | None = None


def transfers_of(
    session: Session, user_id: int, *, currency: str | None, before_id: int | None, limit: int
) -> list[TransferView]:
    """The member's transfers, newest first."""
    mine = select(LedgerAccount.id).where(LedgerAccount.user_id == user_id)
    if currency is not None:
        mine = mine.where(LedgerAccount.currency == currency)
    account_ids = set(session.scalars(mine))
    if not account_ids:
        return []
    query = (
        select(Transfer, User.name)
        .outerjoin(User, User.id == Transfer.actor_id)
        .where(
            or_(
                Transfer.debit_account_id.in_(account_ids),
                Transfer.credit_account_id.in_(account_ids),
            )
        )
        .order_by(Transfer.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Transfer.id < before_id)
    return [
        TransferView(t, "in" if t.credit_account_id in account_ids else "out", name)
        for t, name in session.execute(query)
    ]


def accounts_for_staff(session: Session, actor: Actor, user_id: int) -> list[AccountView]:
    return accounts_of(session, get_person(session, actor, user_id).id)


def transfers_for_staff(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    currency: str | None,
    before_id: int | None,
    limit: int,
) -> list[TransferView]:
    person = get_person(session, actor, user_id)
    return transfers_of(session, person.id, currency=currency, before_id=before_id, limit=limit)
