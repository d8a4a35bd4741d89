"""Crediting work by the rules in force: the one function approval calls.

It runs inside the caller's transaction (approving a participation, accepting a
problem report, logging a household visit), so the work's new state and its
points commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from points.currency import Currency
from points.ledger import TransferKind
from points.rules import EarnedSoFar, Evaluation, Facts, RuleSet, evaluate, parse_rule_set
from service.ledger.accounts import issuance_key, locked_member_accounts, system_accounts
from service.ledger.models import Transfer
from service.ledger.posting import TransferRequest, post
from service.rules.rule_sets import in_force

# Caps count days, weeks and months as people here live them.
LOCAL_TIME = ZoneInfo("Asia/Shanghai")


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
    local = now.astimezone(LOCAL_TIME).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "day": local,
        "week": local - timedelta(days=local.weekday()),  # ISO weeks start on Monday
        "month": local.replace(day=1),
        "year": local.replace(month=1, day=1),
    }


_WINDOWS = ("day", "week", "month", "year")
# Built once: an approval runs it, and building it costs more than running it.
_EARNED_SO_FAR = (
    select(
        Transfer.credit_account_id,
        *(
            func.coalesce(
                func.sum(
                    case((Transfer.created_at >= bindparam(window), Transfer.amount), else_=0)
                ),
                0,
            )
            for window in _WINDOWS
        ),
    )
    .where(
        Transfer.credit_account_id.in_(bindparam("account_ids", expanding=True)),
        Transfer.kind == TransferKind.EARN.value,
        Transfer.created_at >= bindparam("since"),
        Transfer.id.not_in(select(Transfer.reverses_id).where(Transfer.reverses_id.is_not(None))),
    )
    .group_by(Transfer.credit_account_id)
)


def earned_so_far(
    session: Session, account_ids: list[int], now: datetime
) -> dict[int, EarnedSoFar]:
    """Rule earnings (not manual awards) credited to each account in each window, less
    those reversed; one query for all of a member's accounts."""
    starts = window_starts(now)
    rows = session.execute(
        _EARNED_SO_FAR, {**starts, "since": starts["year"], "account_ids": account_ids}
    )
    earned = {account_id: EarnedSoFar(0, 0, 0, 0) for account_id in account_ids}
    for account_id, day, week, month, year in rows:
        earned[account_id] = EarnedSoFar(
            day=int(day), week=int(week), month=int(month), year=int(year)
        )
    return earned


def _key(work: Work, currency: Currency) -> str:
    return f"earn:{work.source}:{currency.value}"


# Published rule sets never change, and parsing one costs more than the rest of an
# approval's CPU. Keyed by the content's repr too, so a row id reused with other
# content (a rebuilt database) is never served stale.
_PARSED: dict[tuple[int, str], RuleSet] = {}
_PARSED_KEEP = 64


def _parsed(version_id: int, content: dict[str, Any]) -> RuleSet:
    key = (version_id, repr(content))
    rules = _PARSED.get(key)
    if rules is None:
        rules = parse_rule_set(content)
        if len(_PARSED) >= _PARSED_KEEP:
            _PARSED.clear()
        _PARSED[key] = rules
    return rules


def credit_work(session: Session, work: Work, now: datetime) -> Credited:
    version = in_force(session, work.place_id, work.done_at.astimezone(LOCAL_TIME).date())
    if version is None:
        return Credited(Evaluation(None, None, ()), [], None)
    rules = _parsed(version.id, version.content)
    # The member's accounts, locked, so two approvals at once can't both see room under
    # a cap that only one of them fits in.
    locked = locked_member_accounts(session, work.user_id)
    accounts = {code: locked[code.value] for code in Currency}
    # Checked under the lock: a retry, or a racing duplicate, finds the first credit
    # instead of pricing the work again against caps that now include it.
    already = session.scalars(
        select(Transfer)
        .where(Transfer.idempotency_key.in_([_key(work, code) for code in Currency]))
        .order_by(Transfer.id)
    ).all()
    if already:
        return Credited(Evaluation(None, None, ()), list(already), version.label)
    so_far = earned_so_far(session, [account.id for account in accounts.values()], now)
    earned = {code: so_far[account.id] for code, account in accounts.items()}
    evaluation = evaluate(rules, work.facts, earned)
    paid = [award for award in evaluation.awards if award.amount > 0]
    issuance = system_accounts(
        session, issuance_key(version.place_id), [award.currency.value for award in paid]
    )
    transfers = []
    for award in paid:
        transfers.append(
            post(
                session,
                TransferRequest(
                    idempotency_key=_key(work, award.currency),
                    kind=TransferKind.EARN,
                    currency=award.currency.value,
                    debit_account_id=issuance[award.currency.value].id,
                    credit_account_id=accounts[award.currency].id,
                    amount=award.amount,
                    source=work.source,
                    actor_id=work.actor_id,
                    rule_set_version=version.label,
                    explanation=award.explanation,
                    created_at=now,
                ),
            )
        )
    return Credited(evaluation, transfers, version.label)
