"""The household register (户): staff keep it in their scope; members and volunteers
read it where they serve, to log their visits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, place_prefixes, require
from points.errors import Conflict, Forbidden, InvalidInput, NotFound
from points.households import VisitStatus
from service.households.models import Household, HouseholdVisit
from service.places.models import Place
from service.places.tree import named_place
from service.unit_of_work import UnitOfWork


class DuplicateHousehold(Conflict):
    code = "duplicate_household"


@dataclass(frozen=True)
class NewHousehold:
    place_id: int
    label: str
    head_name: str | None = None
    needs: str = ""


@dataclass(frozen=True)
class HouseholdChanges:
    """Only the fields given change; ``None`` means "leave as it is"."""

    label: str | None = None
    head_name: str | None = None
    needs: str | None = None
    active: bool | None = None
    clear_head_name: bool = False


class HouseholdOrder(StrEnum):
    ID = "id"  # as they were put on the register
    # Longest since a confirmed visit first, those nobody has visited before them all.
    LAST_VISIT = "last_visit"


@dataclass(frozen=True)
class HouseholdFilter:
    place_id: int | None = None
    q: str | None = None  # part of the door label or the head's name
    active: bool | None = None
    # No confirmed visit on this local day or after ("not visited this quarter").
    never_visited_since: date | None = None


def place_of(session: Session, household: Household) -> Place:
    place = session.get(Place, household.place_id)
    assert place is not None  # a foreign key
    return place


def _label(text: str) -> str:
    label = text.strip()
    if not label:
        raise InvalidInput("say which door", errors={"label": ["required"]})
    return label


def create_household(uow: UnitOfWork, actor: Actor, spec: NewHousehold) -> Household:
    with uow:
        session = uow.session
        place = named_place(session, spec.place_id)
        require(actor, Action.MANAGE_HOUSEHOLDS, Target(place_path=place.path), what="place")
        household = Household(
            place_id=place.id,
            label=_label(spec.label),
            head_name=(spec.head_name or "").strip() or None,
            needs=spec.needs.strip(),
        )
        _save(session, household)
        uow.commit()
        return household


def _save(session: Session, household: Household) -> None:
    try:
        with session.begin_nested():
            session.add(household)
            session.flush()
    except IntegrityError:
        raise DuplicateHousehold(
            "this place already has a household at that door", errors={"label": ["taken"]}
        ) from None


def household_in_scope(
    session: Session, actor: Actor, household_id: int, action: Action
) -> tuple[Household, Place]:
    household = session.get(Household, household_id)
    if household is None:
        raise NotFound("household not found")
    place = place_of(session, household)
    require(actor, action, Target(place_path=place.path), what="household")
    return household, place


def get_household(session: Session, actor: Actor, household_id: int) -> Household:
    return household_in_scope(session, actor, household_id, Action.VIEW_HOUSEHOLDS)[0]


def update_household(
    uow: UnitOfWork, actor: Actor, household_id: int, changes: HouseholdChanges
) -> Household:
    with uow:
        session = uow.session
        household, _ = household_in_scope(session, actor, household_id, Action.MANAGE_HOUSEHOLDS)
        if changes.label is not None:
            household.label = _label(changes.label)
        if changes.clear_head_name:
            household.head_name = None
        elif changes.head_name is not None:
            household.head_name = changes.head_name.strip() or None
        if changes.needs is not None:
            household.needs = changes.needs.strip()
        if changes.active is not None:
            household.active = changes.active
        _save(session, household)
        uow.commit()
        return household


def list_households(
    session: Session,
    actor: Actor,
    wanted: HouseholdFilter,
    *,
    limit: int,
    order: HouseholdOrder = HouseholdOrder.ID,
    after_id: int | None = None,
    offset: int = 0,
) -> list[Household]:
    """Households in the places the actor may see: by id (a page resumes after an id),
    or by when they were last visited (a page resumes at an offset)."""
    prefixes = place_prefixes(actor, Action.VIEW_HOUSEHOLDS)
    if not prefixes:
        raise Forbidden("your roles do not include the household register")
    conditions: list[ColumnElement[bool]] = [
        or_(*(Place.path.startswith(prefix) for prefix in prefixes))
    ]
    if wanted.place_id is not None:
        conditions.append(Place.path.startswith(named_place(session, wanted.place_id).path))
    if wanted.q:
        q = wanted.q.strip()
        conditions.append(
            or_(
                Household.label.contains(q, autoescape=True),
                Household.head_name.contains(q, autoescape=True),
            )
        )
    if wanted.active is not None:
        conditions.append(Household.active == wanted.active)
    if wanted.never_visited_since is not None:
        conditions.append(
            ~exists().where(
                HouseholdVisit.household_id == Household.id,
                HouseholdVisit.status == VisitStatus.CONFIRMED.value,
                HouseholdVisit.visit_day >= wanted.never_visited_since,
            )
        )
    query = select(Household).join(Place, Place.id == Household.place_id).limit(limit)
    if order is HouseholdOrder.LAST_VISIT:
        by_last_visit = (Household.last_visited_at.asc().nulls_first(), Household.id)
        query = query.order_by(*by_last_visit).offset(offset)
    else:
        if after_id is not None:
            conditions.append(Household.id > after_id)
        query = query.order_by(Household.id)
    return list(session.scalars(query.where(*conditions)))
