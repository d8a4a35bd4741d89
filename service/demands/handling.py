"""Resident demands (居民诉求 / 问题上报): anyone living in a place reports one; staff
in scope accept it (crediting the reporter by rule, in the same transaction), decline
it with a reason, resolve it and close it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from points.access import (
    Action,
    Actor,
    Role,
    SelfApproval,
    Target,
    can,
    place_prefixes,
    require,
    serving_role,
)
from points.calendar import local_date
from points.demands import DEMAND_TRANSITIONS, DemandAction, DemandStatus
from points.errors import Conflict, Forbidden, NotFound
from points.lifecycle import transition
from points.rules import Category, EarningEvent, Facts
from service.demands.models import Demand
from service.ledger.models import Transfer
from service.lifecycle import move_status
from service.people.belonging import home_places
from service.places.models import Place
from service.places.tree import named_place
from service.rules.crediting import Work, credit_work
from service.unit_of_work import UnitOfWork
from service.uploads.photos import check_own_photos


class DemandChanged(Conflict):
    code = "demand_changed"


@dataclass(frozen=True)
class NewDemand:
    place_id: int
    category: Category
    description: str
    address: str = ""
    upload_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Decided:
    demand: Demand
    transfers: list[Transfer]


@dataclass(frozen=True)
class DemandFilter:
    status: DemandStatus | None = None
    place_id: int | None = None


def source_of(demand: Demand) -> str:
    return f"demand:{demand.id}"


def _may_report(session: Session, actor: Actor, place: Place, now: datetime) -> bool:
    """Where one lives (their community), or where one serves or lives by grant."""
    if can(actor, Action.REPORT_DEMANDS, Target(place_path=place.path)):
        return True
    prefixes, _ = home_places(session, actor.user_id, local_date(now))
    return any(place.path.startswith(prefix) for prefix in prefixes)


def report_demand(uow: UnitOfWork, actor: Actor, spec: NewDemand, now: datetime) -> Demand:
    with uow:
        session = uow.session
        place = named_place(session, spec.place_id)
        if not _may_report(session, actor, place, now):
            raise NotFound("place not found", errors={"org_id": ["not where you live"]})
        demand = Demand(
            place_id=place.id,
            category=spec.category.value,
            description=spec.description.strip(),
            address=spec.address.strip(),
            upload_ids=check_own_photos(session, actor.user_id, spec.upload_ids, now),
            reporter_id=actor.user_id,
            reporter_role=serving_role(actor.roles).value,
            created_at=now,
            updated_at=now,
        )
        session.add(demand)
        uow.commit()
        return demand


def _path_of(session: Session, demand: Demand) -> str:
    return named_place(session, demand.place_id).path


def get_demand(session: Session, actor: Actor, demand_id: int) -> Demand:
    """The reporter sees their own demand; staff see those in their scope."""
    demand = session.get(Demand, demand_id)
    if demand is None:
        raise NotFound("demand not found")
    if demand.reporter_id != actor.user_id:
        require(
            actor,
            Action.HANDLE_DEMANDS,
            Target(place_path=_path_of(session, demand)),
            what="demand",
        )
    return demand


def _decide(
    session: Session,
    actor: Actor,
    demand_id: int,
    action: DemandAction,
    now: datetime,
    **values: object,
) -> Demand:
    demand = session.get(Demand, demand_id)
    if demand is None:
        raise NotFound("demand not found")
    require(
        actor, Action.HANDLE_DEMANDS, Target(place_path=_path_of(session, demand)), what="demand"
    )
    if demand.reporter_id == actor.user_id:
        raise SelfApproval("nobody handles their own demand")
    current = DemandStatus(demand.status)
    target = transition(DEMAND_TRANSITIONS, current, action)
    moved = move_status(
        session,
        Demand,
        demand.id,
        current,
        target,
        handled_by_id=actor.user_id,
        updated_at=now,
        **values,
    )
    if not moved:
        raise DemandChanged("this demand changed a moment ago; reload it")
    return demand


def accept_demand(uow: UnitOfWork, actor: Actor, demand_id: int, now: datetime) -> Decided:
    """立项: the reporter is credited by the rules for an accepted report, once."""
    with uow:
        session = uow.session
        demand = _decide(session, actor, demand_id, DemandAction.ACCEPT, now, accepted_at=now)
        credited = credit_work(
            session,
            Work(
                source=source_of(demand),
                user_id=demand.reporter_id,
                place_id=demand.place_id,
                done_at=demand.created_at,
                facts=Facts(
                    event=EarningEvent.PROBLEM_REPORT_ACCEPTED,
                    role=Role(demand.reporter_role),
                    category=Category(demand.category),
                ),
                actor_id=actor.user_id,
            ),
            now,
        )
        uow.commit()
        session.refresh(demand)
        return Decided(demand, credited.transfers)


def decline_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, reason: str, now: datetime
) -> Demand:
    return _step(uow, actor, demand_id, DemandAction.DECLINE, now, decline_reason=reason)


def resolve_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, resolution: str, now: datetime
) -> Demand:
    return _step(
        uow, actor, demand_id, DemandAction.RESOLVE, now, resolution=resolution, resolved_at=now
    )


def close_demand(uow: UnitOfWork, actor: Actor, demand_id: int, now: datetime) -> Demand:
    return _step(uow, actor, demand_id, DemandAction.CLOSE, now, closed_at=now)


def _step(
    uow: UnitOfWork,
    actor: Actor,
    demand_id: int,
    action: DemandAction,
    now: datetime,
    **values: object,
) -> Demand:
    with uow:
        session = uow.session
        demand = _decide(session, actor, demand_id, action, now, **values)
        uow.commit()
        session.refresh(demand)
        return demand


def list_demands(
    session: Session, actor: Actor, wanted: DemandFilter, limit: int, offset: int
) -> list[Demand]:
    """Demands in the places the actor handles, oldest first (the longest waiting on top)."""
    prefixes = place_prefixes(actor, Action.HANDLE_DEMANDS)
    if not prefixes:
        raise Forbidden("your roles do not include handling demands")
    conditions: list[ColumnElement[bool]] = [
        or_(*(Place.path.startswith(prefix) for prefix in prefixes))
    ]
    if wanted.status is not None:
        conditions.append(Demand.status == wanted.status.value)
    if wanted.place_id is not None:
        conditions.append(Place.path.startswith(named_place(session, wanted.place_id).path))
    query = (
        select(Demand)
        .join(Place, Place.id == Demand.place_id)
        .where(*conditions)
        .order_by(Demand.created_at, Demand.id)
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query))


def my_demands(session: Session, actor: Actor, limit: int, before_id: int | None) -> list[Demand]:
    query = (
        select(Demand)
        .where(Demand.reporter_id == actor.user_id)
        .order_by(Demand.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Demand.id < before_id)
    return list(session.scalars(query))
