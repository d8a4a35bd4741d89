"""Resident demands (居民诉求 / 问题上报): anyone living in a place reports one, and
who may read which (the loop's steps are in loop.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, can, place_prefixes, require, serving_role
from points.calendar import local_date
from points.content import Scene
from points.demands import DemandOrder, DemandStatus, Stage
from points.errors import Forbidden, InvalidInput, NotFound
from points.geo import rounded_report_point
from points.proxies import ProxyDeed
from points.rules import Category
from service.demands.deadlines import deadline
from service.demands.loop import answering_departments, is_owner, load_demand, place_target
from service.demands.models import Demand, DemandEvent
from service.households.models import Household
from service.households.register import place_of
from service.households.residents import lives_in, residents_of
from service.moderation.photos import note_photo_use
from service.moderation.text import held_of, hold_text, screen_text
from service.people.belonging import home_places
from service.people.models import User
from service.places.models import Place
from service.places.tree import named_place
from service.proxies.acting import ActingFor, acting_for, record_act, running_link
from service.unit_of_work import UnitOfWork
from service.uploads.photos import check_own_photos
from service.wechat.security import ContentSecurity


@dataclass(frozen=True)
class NewDemand:
    place_id: int
    category: Category
    description: str
    address: str = ""
    upload_ids: tuple[int, ...] = ()
    # Where the problem is, as the phone saw it: lets anyone report it (移动探头).
    lat: float | None = None
    lng: float | None = None
    # 点单: a delivery or errand for a household of the register, filed by one of its
    # residents or, for them (代办), by a member, volunteer or staff serving there; the
    # one served is the resident named, or the household's only resident.
    order: DemandOrder | None = None
    household_id: int | None = None
    resident_id: int | None = None
    # 代办: filed for this person by their proxy, as if they filed it themselves.
    for_user_id: int | None = None


@dataclass(frozen=True)
class DemandFilter:
    status: DemandStatus | None = None
    place_id: int | None = None


def _may_report(session: Session, actor: Actor, place: Place, now: datetime) -> bool:
    """Where one lives (their community), or where one serves or lives by grant."""
    if can(actor, Action.REPORT_DEMANDS, Target(place_path=place.path)):
        return True
    prefixes, _ = home_places(session, actor.user_id, local_date(now))
    return any(place.path.startswith(prefix) for prefix in prefixes)


@dataclass(frozen=True)
class Ordered:
    """Who a 点单 is for: its household, the resident it serves, and whether someone
    else filed it for them (代办)."""

    household: Household
    served_user_id: int | None
    proxy: bool


def _ordered_for(session: Session, actor: Actor, spec: NewDemand, place: Place) -> Ordered:
    household = session.get(Household, spec.household_id) if spec.household_id else None
    home = session.get(Place, household.place_id) if household is not None else None
    resident = household is not None and lives_in(session, actor.user_id, household.id)
    if (
        household is None
        or home is None
        or not (resident or can(actor, Action.VIEW_HOUSEHOLDS, Target(place_path=home.path)))
    ):
        raise NotFound("household not found", errors={"household_id": ["no such household"]})
    if not household.active:
        raise InvalidInput(
            "this household is off the register", errors={"household_id": ["not active"]}
        )
    if not home.path.startswith(place.path):
        raise InvalidInput(
            "this household is not in that place",
            errors={"household_id": ["not in the place given as org_id"]},
        )
    if resident:
        return Ordered(household, actor.user_id, proxy=False)
    living = [user.id for user in residents_of(session, household.id)]
    if spec.resident_id is not None and spec.resident_id not in living:
        raise InvalidInput(
            "that person is not a resident of this household",
            errors={"resident_id": ["not a resident of the household"]},
        )
    served = spec.resident_id or (living[0] if len(living) == 1 else None)
    return Ordered(household, served, proxy=True)


def acting_details(acting: ActingFor | None) -> dict[str, Any]:
    """What a step of the timeline says of a proxy's act: for whom ("由 X 代办")."""
    if acting is None:
        return {}
    return {
        "for_user_id": acting.subject.user_id,
        "for_user_name": acting.subject_name,
        "by_line": acting.by_line,
    }


def report_demand(
    uow: UnitOfWork, actor: Actor, spec: NewDemand, now: datetime, *, checks: ContentSecurity
) -> Demand:
    """Where one lives or serves, anything; anywhere else, a problem seen on the spot
    (移动探头: a rider, a driver), which must say where it is. The description is
    screened by WeChat first (a post to the community: scene 论坛); held, the demand
    stays off the public list until staff release it. An order for a household (点单)
    is filed by its resident or, for them, by someone serving there."""
    if (spec.order is None) != (spec.household_id is None):
        raise InvalidInput(
            "an order (点单) names its household, and only an order does",
            errors={"household_id" if spec.order else "order": ["required together"]},
        )
    point = None
    if spec.lat is not None and spec.lng is not None:
        point = rounded_report_point(spec.lat, spec.lng)
    elif spec.lat is not None or spec.lng is not None:
        raise InvalidInput("give both lat and lng, or neither", errors={"lng": ["with lat"]})
    description = spec.description.strip()
    screened = screen_text(
        uow.session, checks, actor.user_id, description, Scene.FORUM, "description"
    )
    with uow:
        session = uow.session
        acting = None
        if spec.for_user_id is not None:
            acting = acting_for(session, actor, spec.for_user_id, now)
        # Where they may report and for which household is the person's to say.
        filer = acting.subject if acting is not None else actor
        place = named_place(session, spec.place_id)
        ordered = _ordered_for(session, filer, spec, place) if spec.household_id else None
        if acting is not None:
            served = ordered.served_user_id if ordered else None
            if served not in (None, filer.user_id):
                raise InvalidInput(
                    "a proxy orders for the person they act for",
                    errors={"resident_id": ["not the person given as for_user_id"]},
                )
            household = ordered.household if ordered else None
            ordered = Ordered(household, filer.user_id, proxy=True) if household else None
        if ordered is not None:
            place = place_of(session, ordered.household)
        elif point is None and not _may_report(session, filer, place, now):
            raise NotFound(
                "place not found",
                errors={"org_id": ["not where you live: say where the problem is (lat, lng)"]},
            )
        demand = Demand(
            place_id=place.id,
            category=spec.category.value,
            description=description,
            address=spec.address.strip() or (ordered.household.label if ordered else ""),
            upload_ids=check_own_photos(session, actor.user_id, spec.upload_ids, now),
            lat=point[0] if point else None,
            lng=point[1] if point else None,
            order_kind=spec.order.value if spec.order else None,
            household_id=ordered.household.id if ordered else None,
            served_user_id=(
                ordered.served_user_id if ordered else acting.subject.user_id if acting else None
            ),
            proxy=ordered.proxy if ordered else acting is not None,
            reporter_id=actor.user_id,
            reporter_role=serving_role(actor.roles).value,
            accept_due_at=deadline(session, Stage.ACCEPT, None, spec.category.value, now),
            created_at=now,
            updated_at=now,
        )
        demand.due_stage, demand.due_at = Stage.ACCEPT.value, demand.accept_due_at
        session.add(demand)
        session.flush()
        session.add(
            DemandEvent(
                demand_id=demand.id,
                action="report",
                to_status=DemandStatus.SUBMITTED.value,
                actor_id=actor.user_id,
                note="",
                details=acting_details(acting),
                at=now,
            )
        )
        if acting is not None:
            record_act(session, acting, ProxyDeed.DEMAND, "demand", demand.id, now)
        hold_text(
            session,
            screened,
            subject="demand",
            subject_id=demand.id,
            field="description",
            author_id=actor.user_id,
            place_id=place.id,
            now=now,
        )
        note_photo_use(session, demand.upload_ids, "demand", demand.id, place.id)
        uow.commit()
        return demand


def get_demand(session: Session, actor: Actor, demand_id: int, now: datetime) -> Demand:
    """The reporter sees their own demand, and the person it serves, and whoever acts
    for that person now (代办); staff those in their scope; an owner the one they were
    handed (a department's officers, one whistled to it)."""
    demand = load_demand(session, demand_id)
    if actor.user_id in (demand.reporter_id, demand.served_user_id) or is_owner(actor, demand):
        return demand
    served = demand.served_user_id
    if served is None or running_link(session, actor.user_id, served, now) is None:
        require(actor, Action.HANDLE_DEMANDS, place_target(session, demand), what="demand")
    return demand


@dataclass(frozen=True)
class TimelineStep:
    action: str
    from_status: str | None
    to_status: str
    actor_id: int | None
    actor_name: str | None
    note: str
    details: dict[str, Any]
    at: datetime


def timeline_of(session: Session, demand: Demand) -> list[TimelineStep]:
    """Every step of the demand, oldest first, with who took it."""
    rows = session.execute(
        select(DemandEvent, User.name)
        .outerjoin(User, User.id == DemandEvent.actor_id)
        .where(DemandEvent.demand_id == demand.id)
        .order_by(DemandEvent.at, DemandEvent.id)
    ).all()
    return [
        TimelineStep(
            event.action,
            event.from_status,
            event.to_status,
            event.actor_id,
            name,
            event.note,
            event.details,
            event.at,
        )
        for event, name in rows
    ]


@dataclass(frozen=True)
class DemandView:
    """A demand as one viewer is shown it: text still held by the content check
    (``withheld``: its ``description``, its rating's ``comment``) is its author's and
    the place's staff's to read, not the owner's handed it, nor anyone else's."""

    demand: Demand
    timeline: list[TimelineStep]
    withheld: frozenset[str]


def view_demand(session: Session, actor: Actor, demand_id: int, now: datetime) -> DemandView:
    demand = get_demand(session, actor, demand_id, now)
    timeline = timeline_of(session, demand)
    path = place_target(session, demand).place_path
    if actor.user_id in (demand.reporter_id, demand.served_user_id) or can(
        actor, Action.REVIEW_CONTENT, Target(place_path=path)
    ):
        return DemandView(demand, timeline, frozenset())
    held = held_of(session, [("demand", demand.id), ("rating", demand.id)])
    withheld = frozenset(
        field
        for field, subject in (("description", "demand"), ("comment", "rating"))
        if (subject, demand.id) in held
    )
    if "comment" in withheld:  # the rating's comment is also its step's note
        timeline = [
            dataclasses.replace(step, note="") if step.action == "rate" else step
            for step in timeline
        ]
    return DemandView(demand, timeline, withheld)


def list_demands(
    session: Session, actor: Actor, wanted: DemandFilter, limit: int, offset: int
) -> list[Demand]:
    """Demands in the places the actor handles, oldest first (the longest waiting on
    top); for a department's officers, those whistled to it, soonest deadline first."""
    prefixes = place_prefixes(actor, Action.HANDLE_DEMANDS)
    departments = answering_departments(actor)
    if not prefixes and not departments:
        raise Forbidden("your roles do not include handling demands")
    mine: list[ColumnElement[bool]] = [Place.path.startswith(prefix) for prefix in prefixes]
    if departments:
        mine.append(Demand.owner_department_id.in_(departments))
    conditions: list[ColumnElement[bool]] = [or_(*mine)]
    if wanted.status is not None:
        conditions.append(Demand.status == wanted.status.value)
    if wanted.place_id is not None:
        conditions.append(Place.path.startswith(named_place(session, wanted.place_id).path))
    order = (Demand.created_at, Demand.id) if prefixes else (Demand.due_at, Demand.id)
    query = (
        select(Demand)
        .join(Place, Place.id == Demand.place_id)
        .where(*conditions)
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query))


def my_demands(session: Session, actor: Actor, limit: int, before_id: int | None) -> list[Demand]:
    query = (
        select(Demand)
        .where(or_(Demand.reporter_id == actor.user_id, Demand.served_user_id == actor.user_id))
        .order_by(Demand.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Demand.id < before_id)
    return list(session.scalars(query))
