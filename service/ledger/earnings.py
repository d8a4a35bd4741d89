"""The ledger's outbox of earnings, written beside each transfer in its transaction:
what the leaderboards (and anything else counting what members earned) read.

Only transfers that change a member's *earned* score are written (see
``points.ledger.EARNING``): an earn or award credited to a member counts up; the
reversal of one counts down, in the period the original was earned in. Spending,
holds, expiry, deductions and reversals of those leave boards alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Integer, Table, insert, literal_column, select
from sqlalchemy.orm import Session

from points.leaderboard import Member, scopes_of
from points.ledger import EARNING, TransferKind
from service.ledger.models import EARNING_EVENT_TABLE, Transfer
from service.organisation.models import BRANCH_TABLE
from service.people.models import USER_TABLE
from service.places.models import PLACE_TABLE
from service.unit_of_work import UnitOfWork


class Owner(Protocol):
    """The account side of a transfer, as posting knows it."""

    @property
    def user_id(self) -> int | None: ...


class OutboxRow(Protocol):
    """What applying an outbox row to the boards reads of it."""

    @property
    def id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def delta(self) -> int: ...
    @property
    def earned_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Written:
    """An outbox row a unit of work wrote, recorded on it to be applied right after
    commit (anything that misses, the sweeper applies), with its member's boards as the
    writing transaction saw them: applying it then needs no read of its own."""

    id: int
    user_id: int
    currency: str
    delta: int
    earned_at: datetime
    member: Member


# The inserted row's member, named by hand: SQLAlchemy correlates subqueries into
# enclosing SELECTs only, and would add the table to the subquery's own FROM.
_ROW_MEMBER = literal_column(
    f"{EARNING_EVENT_TABLE.name}.{EARNING_EVENT_TABLE.c.user_id.name}", Integer
)


def _of_member(column: Any) -> Any:
    """One fact about an inserted row's member, for the INSERT to return beside it."""
    return select(column).where(USER_TABLE.c.id == _ROW_MEMBER).scalar_subquery()


def _by_id(table: Table, column: Any, id: Any) -> Any:
    # One table per subquery: SQLite's RETURNING names columns without their table.
    return select(column).where(table.c.id == id).scalar_subquery()


# Built once: every earning runs it. The transfer id tells the rows returned apart, and
# each comes back with whose boards it counts on (what ``members.members`` reads), so
# applying the rows right after commit needs no read of its own.
_INSERT = insert(EARNING_EVENT_TABLE).returning(
    EARNING_EVENT_TABLE.c.id,
    EARNING_EVENT_TABLE.c.transfer_id,
    _of_member(USER_TABLE.c.name),
    _by_id(PLACE_TABLE, PLACE_TABLE.c.path, _of_member(USER_TABLE.c.residence_place_id)),
    _of_member(USER_TABLE.c.home_branch_id),
    _by_id(BRANCH_TABLE, BRANCH_TABLE.c.department_id, _of_member(USER_TABLE.c.home_branch_id)),
    _of_member(USER_TABLE.c.leaderboard_opt_out | USER_TABLE.c.leaderboard_banned),
)


def record_many(session: Session, posted: Sequence[tuple[Transfer, Owner, Owner]]) -> None:
    """The outbox rows of new transfers (each with its credit and debit account), in
    one statement."""
    rows = {
        row["transfer_id"]: row
        for transfer, credit, debit in posted
        if (row := _row(session, transfer, credit, debit))
    }
    if not rows:
        return
    returned = session.execute(_INSERT, list(rows.values())).all()
    uow = UnitOfWork.of(session)
    if uow is None:
        return  # no one to tell after commit: the sweeper applies the rows
    for id, transfer_id, name, path, branch_id, department_id, hidden in sorted(returned):
        row = rows[transfer_id]
        scopes = tuple(scopes_of(path, branch_id, department_id))
        member = Member(row["user_id"], name, scopes, bool(hidden))
        uow.record(
            Written(id, member.user_id, row["currency"], row["delta"], row["earned_at"], member)
        )


def _row(
    session: Session, transfer: Transfer, credit: Owner, debit: Owner
) -> dict[str, Any] | None:
    kind = TransferKind(transfer.kind)
    if kind in EARNING:
        user_id, delta, earned_at = credit.user_id, transfer.amount, transfer.created_at
    elif kind is TransferKind.REVERSE and transfer.reverses_id is not None:
        original = session.get(Transfer, transfer.reverses_id)
        if original is None or TransferKind(original.kind) not in EARNING:
            return None
        user_id, delta, earned_at = debit.user_id, -transfer.amount, original.created_at
    else:
        return None
    if user_id is None:
        return None
    return {
        "transfer_id": transfer.id,
        "user_id": user_id,
        "currency": transfer.currency,
        "delta": delta,
        "earned_at": earned_at,
        "created_at": transfer.created_at,
    }
