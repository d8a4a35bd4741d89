"""Who lives in a household (住户), as staff keep it: a delivery ordered for the
household serves one of them, and they may rate the work that reached their door."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor
from points.errors import Conflict, NotFound
from service.db import rows_changed
from service.households.models import Household, HouseholdResident
from service.households.register import household_in_scope
from service.people.admin import get_person
from service.people.models import User
from service.unit_of_work import UnitOfWork


class AlreadyResident(Conflict):
    code = "already_resident"


def add_resident(uow: UnitOfWork, actor: Actor, household_id: int, user_id: int) -> User:
    """Link someone the actor looks after (who lives in their scope) to a household."""
    with uow:
        session = uow.session
        household, _ = household_in_scope(session, actor, household_id, Action.MANAGE_HOUSEHOLDS)
        person = get_person(session, actor, user_id)
        try:
            with session.begin_nested():
                session.add(
                    HouseholdResident(
                        household_id=household.id, user_id=person.id, added_by_id=actor.user_id
                    )
                )
                session.flush()
        except IntegrityError:
            raise AlreadyResident(
                "this person is already a resident of this household",
                errors={"user_id": ["already a resident"]},
            ) from None
        uow.commit()
        return person


def remove_resident(uow: UnitOfWork, actor: Actor, household_id: int, user_id: int) -> None:
    with uow:
        session = uow.session
        household, _ = household_in_scope(session, actor, household_id, Action.MANAGE_HOUSEHOLDS)
        removed = rows_changed(
            session.execute(
                delete(HouseholdResident).where(
                    HouseholdResident.household_id == household.id,
                    HouseholdResident.user_id == user_id,
                )
            )
        )
        if not removed:
            raise NotFound("not a resident of this household", errors={"user_id": ["not here"]})
        uow.commit()


def residents(session: Session, actor: Actor, household_id: int) -> list[User]:
    """The residents of a household, for staff of its place."""
    household, _ = household_in_scope(session, actor, household_id, Action.MANAGE_HOUSEHOLDS)
    return residents_of(session, household.id)


def residents_of(session: Session, household_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(HouseholdResident, HouseholdResident.user_id == User.id)
            .where(HouseholdResident.household_id == household_id)
            .order_by(User.id)
        )
    )


def lives_in(session: Session, user_id: int, household_id: int) -> bool:
    return (
        session.scalar(
            select(HouseholdResident.id).where(
                HouseholdResident.user_id == user_id,
                HouseholdResident.household_id == household_id,
            )
        )
        is not None
    )


def my_households(session: Session, actor: Actor) -> list[Household]:
    """The households the actor is a resident of (to order a delivery for, to rate)."""
    return list(
        session.scalars(
            select(Household)
            .join(HouseholdResident, HouseholdResident.household_id == Household.id)
            .where(HouseholdResident.user_id == actor.user_id)
            .order_by(Household.id)
        )
    )
