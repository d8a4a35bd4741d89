"""`lianxin ledger verify`: do the stored totals agree with the transfers?

Recomputes every account from its transfers in one grouped SQL pass (the database
does the summing, so a million transfers stream through no Python objects), checks
that each currency sums to zero, that no limited account is over its limit, and
that reversals mirror what they reverse.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, case, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from points.ledger import Phase, Totals
from service.ledger.models import Currency, LedgerAccount, LotUse, PointLot, Transfer


@dataclass
class VerifyReport:
    accounts: int = 0
    transfers: int = 0
    problems: list[str] = field(default_factory=list)  # the first ones, to read
    problem_count: int = 0  # all of them

    @property
    def clean(self) -> bool:
        return self.problem_count == 0


def _pending_delta() -> ColumnElement[int]:
    return case(
        (Transfer.phase == Phase.PENDING.value, Transfer.amount),
        (
            Transfer.phase.in_([Phase.POST_PENDING.value, Phase.VOID_PENDING.value]),
            -Transfer.amount,
        ),
        else_=0,
    )


def _posted_delta() -> ColumnElement[int]:
    return case(
        (Transfer.phase.in_([Phase.POSTED.value, Phase.POST_PENDING.value]), Transfer.amount),
        else_=0,
    )


def recomputed_totals(session: Session) -> dict[int, Totals]:
    sides = union_all(
        select(
            Transfer.debit_account_id.label("account_id"),
            literal(True).label("is_debit"),
            _pending_delta().label("pending"),
            _posted_delta().label("posted"),
        ),
        select(
            Transfer.credit_account_id.label("account_id"),
            literal(False).label("is_debit"),
            _pending_delta().label("pending"),
            _posted_delta().label("posted"),
        ),
    ).subquery()
    query = select(
        sides.c.account_id, sides.c.is_debit, func.sum(sides.c.pending), func.sum(sides.c.posted)
    ).group_by(sides.c.account_id, sides.c.is_debit)
    totals: dict[int, Totals] = defaultdict(Totals)
    for account_id, is_debit, pending, posted in session.execute(query):
        if is_debit:
            totals[account_id] += Totals(debits_pending=int(pending), debits_posted=int(posted))
        else:
            totals[account_id] += Totals(credits_pending=int(pending), credits_posted=int(posted))
    return totals


def verify(session: Session, *, limit: int = 20) -> VerifyReport:
    """Run in a session that has not begun a transaction: on PostgreSQL every query
    here then reads one snapshot, so transfers posted while it runs (a nightly check
    on a live system) can't show up as differences."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    report = VerifyReport()
    expected = recomputed_totals(session)
    per_currency: dict[str, Totals] = defaultdict(Totals)

    def problem(text: str) -> None:
        report.problem_count += 1
        if len(report.problems) < limit:
            report.problems.append(text)

    for account in session.scalars(select(LedgerAccount).order_by(LedgerAccount.id)):
        report.accounts += 1
        stored = Totals(
            account.debits_pending,
            account.debits_posted,
            account.credits_pending,
            account.credits_posted,
        )
        per_currency[account.currency] += stored
        owner = account.system_key or f"user {account.user_id}"
        computed = expected.pop(account.id, Totals())
        if stored != computed:
            problem(
                f"account {account.id} ({owner}, {account.currency}): stored {stored}, "
                f"transfers give {computed}"
            )
        if account.no_overdraft and not stored.within_limit():
            problem(f"account {account.id} ({owner}) is over its limit: {stored}")
    for account_id in expected:
        problem(f"transfers name account {account_id}, which does not exist")
    for code, sums in sorted(per_currency.items()):
        if sums.debits_posted != sums.credits_posted or sums.debits_pending != sums.credits_pending:
            problem(f"{code} does not sum to zero: {sums}")
    report.transfers = session.scalar(select(func.count()).select_from(Transfer)) or 0
    _check_links(session, problem)
    _check_lots(session, problem)
    return report


def _check_lots(session: Session, problem: Callable[[str], None]) -> None:
    """Each lot's remainder is its amount less its uses; a member's lots add up to
    what the member may spend."""
    used = (
        select(LotUse.lot_id, func.sum(LotUse.amount).label("used"))
        .group_by(LotUse.lot_id)
        .subquery()
    )
    for lot_id, remaining, amount, spent in session.execute(
        select(PointLot.id, PointLot.remaining, PointLot.amount, used.c.used)
        .outerjoin(used, used.c.lot_id == PointLot.id)
        .where(PointLot.remaining != PointLot.amount - func.coalesce(used.c.used, 0))
        .limit(20)
    ):
        problem(f"lot {lot_id}: remaining {remaining} but {amount} less uses {spent or 0}")
    in_lots = (
        select(PointLot.account_id, func.sum(PointLot.remaining).label("remaining"))
        .group_by(PointLot.account_id)
        .subquery()
    )
    available = (
        LedgerAccount.credits_posted - LedgerAccount.debits_posted - LedgerAccount.debits_pending
    )
    for account_id, lots_total, spendable in session.execute(
        select(LedgerAccount.id, func.coalesce(in_lots.c.remaining, 0), available)
        .join(Currency, Currency.code == LedgerAccount.currency)
        .outerjoin(in_lots, in_lots.c.account_id == LedgerAccount.id)
        .where(
            LedgerAccount.user_id.is_not(None),
            Currency.expires_after_days.is_not(None),
            func.coalesce(in_lots.c.remaining, 0) != available,
        )
        .limit(20)
    ):
        problem(f"account {account_id}: lots hold {lots_total}, available is {spendable}")


def _check_links(session: Session, problem: Callable[[str], None]) -> None:
    original = aliased(Transfer)
    mismatched = session.execute(
        select(Transfer.id, original.id)
        .join(original, original.id == func.coalesce(Transfer.reverses_id, Transfer.pending_id))
        .where(
            (Transfer.amount != original.amount)
            | (Transfer.currency != original.currency)
            | (
                Transfer.reverses_id.is_not(None)
                & (
                    (Transfer.debit_account_id != original.credit_account_id)
                    | (Transfer.credit_account_id != original.debit_account_id)
                )
            )
            | (
                Transfer.pending_id.is_not(None)
                & (
                    (original.phase != Phase.PENDING.value)
                    | (Transfer.debit_account_id != original.debit_account_id)
                    | (Transfer.credit_account_id != original.credit_account_id)
                )
            )
        )
        .limit(20)
    ).all()
    for transfer_id, original_id in mismatched:
        problem(f"transfer {transfer_id} does not mirror transfer {original_id}")
