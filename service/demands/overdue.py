"""Deadlines passed: the sweep that notes each overdue stage of a demand once
(`lianxin demands sweep`, scheduled), and the list staff and officers work from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from points.access import Action, Actor, place_prefixes
from points.demands import DemandStatus
from points.errors import Forbidden
from service.demands.loop import answering_departments
from service.demands.models import Demand, DemandEvent, DemandOverdue
from service.places.models import Place
from service.places.tree import named_place
from service.unit_of_work import UnitOfWork

_OPEN = [status.value for status in DemandStatus if status.open]
# Rows per INSERT: SQLite takes at most 32,766 bound values in one statement.
_BATCH = 500


@dataclass(frozen=True)
class SweepReport:
    marked: int  # stages newly found overdue
    overdue: int  # open demands past their deadline now, marked before or not


def sweep_overdue(uow: UnitOfWork, now: datetime) -> SweepReport:
    """Note every stage past its deadline, once per demand and stage (on its timeline
    too); running it again notes nothing new."""
    with uow:
        session = uow.session
        past_due = (
            Demand.status.in_(_OPEN),
            Demand.due_at < now,
            Demand.due_stage.is_not(None),
        )
        overdue = session.scalar(select(func.count()).select_from(Demand).where(*past_due)) or 0
        noted = (
            select(DemandOverdue.id)
            .where(DemandOverdue.demand_id == Demand.id, DemandOverdue.stage == Demand.due_stage)
            .exists()
        )
        due = session.execute(
            select(Demand.id, Demand.due_stage, Demand.due_at, Demand.status).where(
                *past_due, ~noted
            )
        ).all()
        insert = (
            postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        marked: list[tuple[int, str]] = []
        for start in range(0, len(due), _BATCH):
            # A sweep running at the same moment marks the same rows: the unique
            # (demand, stage) keeps one, and only the one who wrote it notes it.
            written = session.execute(
                insert(DemandOverdue)
                .values(
                    [
                        {"demand_id": id, "stage": stage, "due_at": due_at, "marked_at": now}
                        for id, stage, due_at, _ in due[start : start + _BATCH]
                    ]
                )
                .on_conflict_do_nothing(index_elements=["demand_id", "stage"])
                .returning(DemandOverdue.demand_id, DemandOverdue.stage)
            ).all()
            marked += [(demand_id, stage) for demand_id, stage in written]
        # due_at is not NULL: the WHERE compared it.
        statuses = {id: (status, due_at) for id, _, due_at, status in due if due_at}
        session.add_all(
            DemandEvent(
                demand_id=demand_id,
                action="overdue",
                from_status=statuses[demand_id][0],
                to_status=statuses[demand_id][0],
                actor_id=None,
                note=f"{stage} overdue",
                details={"stage": stage, "due_at": statuses[demand_id][1].isoformat()},
                at=now,
            )
            for demand_id, stage in marked
        )
        uow.commit()
        return SweepReport(len(marked), overdue)


def overdue_demands(
    session: Session,
    actor: Actor,
    now: datetime,
    limit: int,
    offset: int,
    place_id: int | None = None,
) -> list[Demand]:
    """Open demands past the deadline of the stage they wait in, the longest overdue
    first: those in the places the actor handles, and those whistled to a department
    they answer for."""
    prefixes = place_prefixes(actor, Action.HANDLE_DEMANDS)
    departments = answering_departments(actor)
    if not prefixes and not departments:
        raise Forbidden("your roles do not include handling demands")
    mine: list[ColumnElement[bool]] = [Place.path.startswith(prefix) for prefix in prefixes]
    if departments:
        mine.append(Demand.owner_department_id.in_(departments))
    conditions: list[ColumnElement[bool]] = [
        or_(*mine),
        Demand.status.in_(_OPEN),
        Demand.due_at < now,
    ]
    if place_id is not None:
        conditions.append(Place.path.startswith(named_place(session, place_id).path))
    return list(
        session.scalars(
            select(Demand)
            .join(Place, Place.id == Demand.place_id)
            .where(*conditions)
            .order_by(Demand.due_at, Demand.id)
            .offset(offset)
            .limit(limit)
        )
    )
