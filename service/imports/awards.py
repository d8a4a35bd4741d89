"""Bulk awards (批量奖励) from a spreadsheet: one award per person, currency and batch.

Each row goes through the same use case as an award made by hand, so it is checked
against the importer's scope, audited, and above the confirmation amount waits for
a second staff member. The batch label makes a re-run change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from points.access import Action, Actor, allows
from points.adjustments import AdjustmentKind, AdjustmentStatus
from points.currency import Currency
from points.errors import DomainError, Forbidden, InvalidInput
from service.imports.spreadsheet import RowError, clean_cells
from service.ledger.adjustments import AdjustmentRequest, request_adjustment
from service.people.models import User
from service.people.phones import PhoneVault
from service.unit_of_work import UnitOfWork

REQUIRED = ("phone", "amount", "reason")
CURRENCY_ALIASES = {"积分": Currency.JIFEN, "幸福币": Currency.XINGFUBI}


@dataclass
class AwardReport:
    posted: int = 0
    waiting: int = 0  # above the confirmation amount: a second staff member must confirm
    already: int = 0  # done by an earlier run of the same batch
    errors: list[RowError] = field(default_factory=list)


def _currency(text: str) -> Currency:
    value = text.strip().lower() or Currency.XINGFUBI.value
    found = CURRENCY_ALIASES.get(value) or next((c for c in Currency if c.value == value), None)
    if found is None:
        raise InvalidInput(f"unknown currency {text!r}", errors={"currency": ["积分 or 幸福币"]})
    return found


def _amount(text: str) -> int:
    cleaned = text.strip().removesuffix(".0")
    if not cleaned.isdigit() or int(cleaned) <= 0:
        raise InvalidInput(
            f"amount {text!r} is not a positive whole number",
            errors={"amount": ["positive whole number"]},
        )
    return int(cleaned)


def import_awards(
    uow: UnitOfWork,
    actor: Actor,
    vault: PhoneVault,
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    batch: str,
    confirm_above: int,
    now: datetime,
) -> AwardReport:
    if not any(allows(grant.role, Action.ADJUST_POINTS) for grant in actor.grants):
        raise Forbidden("your roles do not include awarding points")
    report = AwardReport()
    first_row: dict[tuple[int, str], int] = {}
    for number, raw in rows:
        try:
            record = clean_cells(raw)
            phone_hash = vault.lookup_hash(record["phone"])
            user_id = uow.session.scalar(select(User.id).where(User.phone_hash == phone_hash))
            if user_id is None:
                raise InvalidInput(
                    "no one with this phone is on the roster", errors={"phone": ["unknown person"]}
                )
            code = _currency(record.get("currency", ""))
            amount = _amount(record["amount"])
            reason = record["reason"].strip()
            if len(reason) < 2:
                raise InvalidInput("give the reason for the award", errors={"reason": ["required"]})
            # Only a row that parses takes its person's place in the batch.
            seen = first_row.setdefault((user_id, code.value), number)
            if seen != number:
                raise InvalidInput(f"duplicate of row {seen}", errors={"phone": ["duplicate"]})
            adjustment = request_adjustment(
                uow,
                actor,
                AdjustmentRequest(
                    user_id=user_id,
                    kind=AdjustmentKind.AWARD,
                    currency=code.value,
                    amount=amount,
                    reason=f"{reason}（{batch}）",
                ),
                confirm_above=confirm_above,
                now=now,
                key=f"award-import:{batch}:{user_id}:{code.value}",
            )
        except DomainError as error:
            fields = list(error.errors)
            report.errors.append(RowError(number, error.message, fields[0] if fields else None))
            continue
        if adjustment.created_at != now:
            report.already += 1
        elif adjustment.status == AdjustmentStatus.POSTED.value:
            report.posted += 1
        else:
            report.waiting += 1
    return report
