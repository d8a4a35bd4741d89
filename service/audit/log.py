"""Writing the audit trail: one entry per audited action, in the action's transaction.

An entry says who (the actor's user id; None for the console), what (``action``, as
``<kind>.<verb>``, on ``object_type`` ``object_id``), before and after, when, where
(the place that decides who may read it) and under which request. The request id is
the unit of work's (the web edge gives each one the request's), so use cases pass
nothing more than the session they already hold, and service/ stays free of the web.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from points.access import ScopeType
from service.audit.models import AUDIT_TABLE, AuditEntry
from service.db import utcnow
from service.organisation.models import Branch, Station
from service.unit_of_work import UnitOfWork


class AuditKind(StrEnum):
    """What an entry is about: the part of its action before the dot."""

    GRANT = "grant"  # create, revoke, move (a person moved home, their roles with them)
    PERSON = "person"  # disable, enable, leaderboard_ban, leaderboard_unban, console_account,
    # password_change
    PARTICIPATION = "participation"  # approve, reject, reverse
    ADJUSTMENT = "adjustment"  # award, deduct (asked), confirm, reject
    TRANSFER = "transfer"  # reverse
    REDEMPTION = "redemption"  # fulfil, cancel
    VISIT = "visit"  # confirm (credits the visitor)
    DEMAND = "demand"  # accept (credits the reporter)
    RULE_SET = "rule_set"  # draft, change, publish
    PROXY = "proxy"  # link, end (who may act for a person, on their consent)


_KINDS = frozenset(kind.value for kind in AuditKind)


class MovedPoints(Protocol):
    """What an entry keeps of a transfer a decision posted."""

    @property
    def id(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def amount(self) -> int: ...


def points_moved(transfers: Iterable[MovedPoints]) -> list[dict[str, object]]:
    """The transfers a decision posted, as its entry's ``after`` lists them."""
    return [{"id": t.id, "currency": t.currency, "amount": t.amount} for t in transfers]


def entry_row(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    place_id: int | None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """One entry's columns, for ``record_many``."""
    kind = action.partition(".")[0]
    if kind not in _KINDS:
        raise ValueError(f"{action!r} is of no audit kind")  # a caller's typo
    uow = UnitOfWork.of(session)
    return {
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": before,
        "after": after,
        "place_id": place_id,
        "request_id": uow.request_id if uow is not None else None,
        "at": at or utcnow(),
    }


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    place_id: int | None,
) -> None:
    """Write one entry in the session's transaction (one INSERT, now)."""
    record_many(
        session,
        [
            entry_row(
                session,
                actor_id=actor_id,
                action=action,
                object_type=object_type,
                object_id=object_id,
                before=before,
                after=after,
                place_id=place_id,
            )
        ],
    )


def record_many(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Write entries made by ``entry_row`` (an import's), in one statement."""
    batch = list(rows)
    if batch:
        session.execute(insert(AUDIT_TABLE), batch)


def grant_place(session: Session, scope_type: ScopeType | str, scope_id: int) -> int | None:
    """Where a grant on this scope is audited: its place, a station's or a branch's
    place; None for a department or a department's branch (the whole organisation's)."""
    match ScopeType(scope_type):
        case ScopeType.PLACE:
            return scope_id
        case ScopeType.STATION:
            return session.scalar(select(Station.place_id).where(Station.id == scope_id))
        case ScopeType.BRANCH:
            return session.scalar(select(Branch.place_id).where(Branch.id == scope_id))
    return None


def history(session: Session, object_type: str, object_id: int) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
            .order_by(AuditEntry.id)
        )
    )
