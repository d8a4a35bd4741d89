"""Managing departments, party branches and pairings (百部联百村 / 结对共建)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, require
from points.errors import Conflict, InvalidInput, NotFound
from points.places import PlaceLevel
from service.db import rows_changed
from service.organisation.models import Branch, Department, Pairing
from service.places.models import Place
from service.unit_of_work import UnitOfWork

ORGANISATION_WIDE = Target(organisation_wide=True)


class AlreadyExists(Conflict):
    code = "already_exists"


def _unique(uow: UnitOfWork, what: str) -> None:
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError:
        raise AlreadyExists(f"{what} already exists") from None


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.name)))


def get_department(session: Session, department_id: int) -> Department:
    department = session.get(Department, department_id)
    if department is None:
        raise NotFound("department not found")
    return department


def create_department(uow: UnitOfWork, actor: Actor, name: str) -> Department:
    with uow:
        require(actor, Action.MANAGE_ORGANISATION, ORGANISATION_WIDE, what="department")
        department = Department(name=name)
        uow.session.add(department)
        _unique(uow, f"department {name}")
        uow.commit()
        return department


def rename_department(uow: UnitOfWork, actor: Actor, department_id: int, name: str) -> Department:
    with uow:
        department = get_department(uow.session, department_id)
        require(actor, Action.MANAGE_ORGANISATION, ORGANISATION_WIDE, what="department")
        department.name = name
        _unique(uow, f"department {name}")
        uow.commit()
        return department


def branch_target(session: Session, branch: Branch) -> Target:
    if branch.department_id is not None:
        return Target(
            organisation_wide=True, department_id=branch.department_id, branch_id=branch.id
        )
    place = session.get(Place, branch.place_id)
    return Target(place_path=place.path if place else None, branch_id=branch.id)


def list_branches(
    session: Session, department_id: int | None = None, place_id: int | None = None
) -> list[Branch]:
    query = select(Branch).order_by(Branch.name)
    if department_id is not None:
        query = query.where(Branch.department_id == department_id)
    if place_id is not None:
        query = query.where(Branch.place_id == place_id)
    return list(session.scalars(query))


def create_branch(
    uow: UnitOfWork,
    actor: Actor,
    name: str,
    *,
    department_id: int | None = None,
    place_id: int | None = None,
) -> Branch:
    if (department_id is None) == (place_id is None):
        raise InvalidInput(
            "a branch belongs to a department or to a place",
            errors={"department_id": ["give exactly one of department_id and place_id"]},
        )
    with uow:
        session = uow.session
        if department_id is not None:
            get_department(session, department_id)
        elif place_id is not None and session.get(Place, place_id) is None:
            raise NotFound("place not found")
        branch = Branch(name=name, department_id=department_id, place_id=place_id)
        require(actor, Action.MANAGE_ORGANISATION, branch_target(session, branch), what="branch")
        session.add(branch)
        _unique(uow, f"branch {name}")
        uow.commit()
        return branch


def list_pairings(session: Session, department_id: int | None = None) -> list[Pairing]:
    query = select(Pairing).order_by(Pairing.started_on, Pairing.id)
    if department_id is not None:
        query = query.where(Pairing.department_id == department_id)
    return list(session.scalars(query))


def pair_department(
    uow: UnitOfWork, actor: Actor, department_id: int, place_id: int, started_on: date
) -> Pairing:
    with uow:
        session = uow.session
        get_department(session, department_id)
        community = session.get(Place, place_id)
        if community is None:
            raise NotFound("place not found")
        if community.place_level is not PlaceLevel.COMMUNITY:
            raise InvalidInput(
                "departments pair with communities or villages",
                errors={"place_id": ["must be a community"]},
            )
        require(actor, Action.MANAGE_ORGANISATION, Target(place_path=community.path), what="place")
        pairing = Pairing(department_id=department_id, place_id=place_id, started_on=started_on)
        session.add(pairing)
        _unique(uow, "this pairing")
        uow.commit()
        return pairing


def end_pairing(uow: UnitOfWork, actor: Actor, pairing_id: int, ended_on: date) -> Pairing:
    with uow:
        session = uow.session
        pairing = session.get(Pairing, pairing_id)
        community = session.get(Place, pairing.place_id) if pairing else None
        if pairing is None or community is None:
            raise NotFound("pairing not found")
        require(
            actor, Action.MANAGE_ORGANISATION, Target(place_path=community.path), what="pairing"
        )
        if ended_on < pairing.started_on:
            raise InvalidInput(
                "a pairing ends after it starts", errors={"ended_on": ["before start"]}
            )
        ended = rows_changed(
            session.execute(
                update(Pairing)
                .where(Pairing.id == pairing.id, Pairing.ended_on.is_(None))
                .values(ended_on=ended_on)
                .execution_options(synchronize_session=False)
            )
        )
        if ended != 1:
            raise Conflict("this pairing has already ended")
        uow.commit()
        session.refresh(pairing)
        return pairing
