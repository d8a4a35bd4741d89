"""Crediting work by the rules in force: the one function approval calls.

It runs inside the caller's transaction (approving a participation, accepting a
problem report, logging a household visit), so the work's new state and its
points commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, bindparam, case, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from points.calendar import local_date, local_midnight, month_start, week_start, year_start
from points.currency import Currency
from points.ledger import TransferKind
from points.rules import EarnedSoFar, Evaluation, Facts, evaluate
from service.ledger.accounts import issuance_key, locked_member_accounts, system_accounts
from service.ledger.models import LedgerAccount, Transfer
from service.ledger.posting import TransferRequest, post_many
from service.rules.rule_sets import rules_in_force


@dataclass(frozen=True)
class Work:
    source: str  # the business source, e.g. "participation:812"; one credit per source
    user_id: int
    place_id: int  # where the work was done: picks the rules and the issuing place
    done_at: datetime  # when: picks the rules in force
    facts: Facts
    actor_id: int | None  # who approved it


@dataclass(frozen=True)
class Credited:
    evaluation: Evaluation
    transfers: list[Transfer]
    rule_set_version: str | None


def window_starts(now: datetime) -> dict[str, datetime]:
    """When each cap's window containing ``now`` began, by the caps' names."""
    day = local_date(now)
    return {
        "day": local_midnight(day),
        "week": local_midnight(week_start(day)),
        "month": local_midnight(month_start(day)),
        "year": local_midnight(year_start(day)),
    }


_WINDOWS = ("day", "week", "month", "year")
_TRANSFERS, _ACCOUNTS = Transfer.__table__, LedgerAccount.__table__
# Built once, as Core: an approval runs it, and building it costs more than running it.
# Two reads in one, both under the member's lock: the rule earnings (not manual
# awards) credited to each of the member's accounts in each window, less those
# reversed; and, as rows of their own (with the transfer id set), this work's credits
# if it has any already. No list parameters: expanding one costs more than the query.
_SO_FAR = union_all(
    select(
        _TRANSFERS.c.credit_account_id,
        *(
            func.coalesce(
                func.sum(
                    case(
                        (_TRANSFERS.c.created_at >= bindparam(window), _TRANSFERS.c.amount),
                        else_=0,
                    )
                ),
                0,
            )
            for window in _WINDOWS
        ),
        null().label("transfer_id"),
    )
    .where(
        _TRANSFERS.c.credit_account_id.in_(
            select(_ACCOUNTS.c.id).where(_ACCOUNTS.c.user_id == bindparam("user_id"))
        ),
        _TRANSFERS.c.kind == TransferKind.EARN.value,
        _TRANSFERS.c.created_at >= bindparam("year"),
        _TRANSFERS.c.id.not_in(
            select(_TRANSFERS.c.reverses_id).where(_TRANSFERS.c.reverses_id.is_not(None))
        ),
    )
    .group_by(_TRANSFERS.c.credit_account_id),
    select(
        _TRANSFERS.c.credit_account_id,
        *(literal(0, BigInteger) for _ in _WINDOWS),
        _TRANSFERS.c.id,
    ).where(_TRANSFERS.c.idempotency_key.in_([bindparam(f"key_{code}") for code in Currency])),
)


@dataclass(frozen=True)
class _SoFar:
    earned: dict[int, EarnedSoFar]  # by account id
    credited: list[int]  # this work's transfers, if it was credited before


def _so_far(session: Session, work: Work, account_ids: list[int], now: datetime) -> _SoFar:
    params: dict[str, object] = {
        **window_starts(now),
        **{f"key_{code}": _key(work, code) for code in Currency},
        "user_id": work.user_id,
    }
    earned = {account_id: EarnedSoFar(0, 0, 0, 0) for account_id in account_ids}
    credited = []
    for account_id, day, week, month, year, transfer_id in session.execute(_SO_FAR, params):
        if transfer_id is not None:
            credited.append(transfer_id)
        else:
            earned[account_id] = EarnedSoFar(
                day=int(day), week=int(week), month=int(month), year=int(year)
            )
    return _SoFar(earned, credited)


def _key(work: Work, currency: Currency) -> str:
    return f"earn:{work.source}:{currency.value}"


_ALREADY = (
    select(Transfer).where(Transfer.id.in_(bindparam("ids", expanding=True))).order_by(Transfer.id)
)


def credit_work(session: Session, work: Work, now: datetime) -> Credited:
    in_force = rules_in_force(session, work.place_id, local_date(work.done_at))
    if in_force is None:
        return Credited(Evaluation(None, None, ()), [], None)
    issuer = issuance_key(in_force.place_id)
    # The member's accounts, locked, so two approvals at once can't both see room under
    # a cap that only one of them fits in. The issuing accounts come along, unlocked.
    locked = locked_member_accounts(session, work.user_id, beside=issuer)
    accounts = {code: locked[code.value] for code in Currency}
    so_far = _so_far(session, work, [account.id for account in accounts.values()], now)
    # Checked under the lock: a retry, or a racing duplicate, finds the first credit
    # instead of pricing the work again against caps that now include it.
    if so_far.credited:
        already = session.scalars(_ALREADY, {"ids": so_far.credited}).all()
        return Credited(Evaluation(None, None, ()), list(already), in_force.label)
    earned = {code: so_far.earned[account.id] for code, account in accounts.items()}
    evaluation = evaluate(in_force.rules, work.facts, earned)
    paid = [award for award in evaluation.awards if award.amount > 0]
    issuance = system_accounts(session, issuer, [award.currency.value for award in paid])
    transfers = post_many(
        session,
        [
            TransferRequest(
                idempotency_key=_key(work, award.currency),
                kind=TransferKind.EARN,
                currency=award.currency.value,
                debit_account_id=issuance[award.currency.value].id,
                credit_account_id=accounts[award.currency].id,
                amount=award.amount,
                source=work.source,
                actor_id=work.actor_id,
                rule_set_version=in_force.label,
                explanation=award.explanation,
                created_at=now,
            )
            for award in paid
        ],
    )
    return Credited(evaluation, transfers, in_force.label)
