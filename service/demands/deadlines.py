"""The deadlines of the demand loop: what staff keep (demand_limit), over the defaults
in points.demands, and the deadline a demand gets when a stage begins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, require
from points.demands import (
    DEFAULT_LIMITS,
    DemandLevel,
    Limit,
    LimitKey,
    LimitUnit,
    Stage,
    limit_for,
)
from points.errors import Conflict, NotFound
from service.db import rows_changed
from service.demands.models import DemandLimit
from service.unit_of_work import UnitOfWork, transaction_cache


class LimitChanged(Conflict):
    code = "limit_changed"


@dataclass(frozen=True)
class KeptLimit:
    key: LimitKey
    limit: Limit
    id: int | None  # None: not kept by staff, the built-in default


def _kept_rows(session: Session) -> dict[LimitKey, tuple[int, Limit]]:
    """What staff set, by what it applies to, read once per transaction (a few rows)."""
    cache = transaction_cache(session, "demand_limits")
    if "kept" not in cache:
        cache["kept"] = {
            LimitKey(
                Stage(row.stage),
                DemandLevel(row.level) if row.level else None,
                row.category or None,
            ): (row.id, Limit(row.amount, LimitUnit(row.unit)))
            for row in session.scalars(select(DemandLimit))
        }
    kept: dict[LimitKey, tuple[int, Limit]] = cache["kept"]
    return kept


def kept_limits(session: Session) -> dict[LimitKey, Limit]:
    return {key: limit for key, (_, limit) in _kept_rows(session).items()}


def deadline(
    session: Session, stage: Stage, level: DemandLevel | None, category: str, start: datetime
) -> datetime:
    return limit_for(kept_limits(session), stage, level, category).after(start)


def _require_admin(actor: Actor) -> None:
    # The limits hold for the whole organisation: an admin of a root place keeps them.
    require(actor, Action.MANAGE_DEMAND_LIMITS, Target(organisation_wide=True), what="limits")


def list_limits(session: Session, actor: Actor) -> list[KeptLimit]:
    """Every kept limit, then the defaults none of them replaces."""
    _require_admin(actor)
    kept = _kept_rows(session)
    rows = [KeptLimit(key, limit, id) for key, (id, limit) in kept.items()]
    rows += [
        KeptLimit(LimitKey(stage, level), limit, None)
        for (stage, level), limit in DEFAULT_LIMITS.items()
        if LimitKey(stage, level) not in kept
    ]
    return sorted(
        rows,
        key=lambda row: (
            list(Stage).index(row.key.stage),
            row.key.level or "",
            row.key.category or "",
        ),
    )


def keep_limit(
    uow: UnitOfWork, actor: Actor, key: LimitKey, limit: Limit, now: datetime
) -> KeptLimit:
    """Set the limit for ``key`` (replacing the one kept for it, if any)."""
    with uow:
        _require_admin(actor)
        session = uow.session
        row = session.scalars(select(DemandLimit).where(*_matching(key))).one_or_none()
        if row is None:
            row = DemandLimit(
                stage=key.stage.value,
                level=key.level.value if key.level else "",
                category=key.category or "",
            )
            session.add(row)
        row.amount, row.unit = limit.amount, limit.unit.value
        row.updated_by_id, row.updated_at = actor.user_id, now
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:  # another admin kept one for the same key just now
            raise LimitChanged("this limit changed a moment ago; reload it") from None
        uow.commit()
        return KeptLimit(key, limit, row.id)


def forget_limit(uow: UnitOfWork, actor: Actor, limit_id: int) -> None:
    """Back to the default (or a less specific kept limit) for what it applied to."""
    with uow:
        _require_admin(actor)
        deleted = uow.session.execute(delete(DemandLimit).where(DemandLimit.id == limit_id))
        if not rows_changed(deleted):
            raise NotFound("no such limit is kept")
        uow.commit()


def _matching(key: LimitKey) -> tuple[ColumnElement[bool], ...]:
    return (
        DemandLimit.stage == key.stage.value,
        DemandLimit.level == (key.level.value if key.level else ""),
        DemandLimit.category == (key.category or ""),
    )
