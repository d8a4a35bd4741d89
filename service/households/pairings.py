"""党员联户 (1+10+N, 结对认亲): staff pair a party member with the households they look
after; a pairing runs from a day until staff end it, and ended ones stay on record so
that a past quarter's coverage still reads what was true then."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, Role, ScopeType
from points.calendar import local_date
from points.errors import Conflict, InvalidInput, NotFound
from service.db import rows_changed, runs_on
from service.households.models import Household, HouseholdPairing
from service.households.register import household_in_scope
from service.people.admin import get_person
from service.people.models import RoleGrant, User
from service.unit_of_work import UnitOfWork


class AlreadyPaired(Conflict):
    code = "already_paired"


class PairingEnded(Conflict):
    code = "pairing_ended"


@dataclass(frozen=True)
class Paired:
    pairing: HouseholdPairing
    household: Household
    member: User


def pair_member(
    uow: UnitOfWork,
    actor: Actor,
    household_id: int,
    member_id: int,
    now: datetime,
    started_on: date | None = None,
) -> Paired:
    """Pair a party member the actor looks after with a household of their scope, from
    ``started_on`` (today by default)."""
    with uow:
        session = uow.session
        household, _ = household_in_scope(session, actor, household_id, Action.MANAGE_HOUSEHOLDS)
        member = get_person(session, actor, member_id)
        if not _is_party_member(session, member.id):
            raise InvalidInput(
                "only party members are paired with households (党员联户)",
                errors={"member_id": ["not a party member"]},
            )
        pairing = HouseholdPairing(
            household_id=household.id,
            member_id=member.id,
            started_on=started_on or local_date(now),
            created_by_id=actor.user_id,
        )
        try:
            with session.begin_nested():
                session.add(pairing)
                session.flush()
        except IntegrityError:
            raise AlreadyPaired(
                "this member already looks after this household",
                errors={"member_id": ["already paired"]},
            ) from None
        uow.commit()
        return Paired(pairing, household, member)


def end_pairing(
    uow: UnitOfWork, actor: Actor, pairing_id: int, now: datetime, ended_on: date | None = None
) -> Paired:
    """The member looks after the household up to ``ended_on`` (today by default)."""
    ended_on = ended_on or local_date(now)
    with uow:
        session = uow.session
        pairing = session.get(HouseholdPairing, pairing_id)
        if pairing is None:
            raise NotFound("pairing not found")
        household, _ = household_in_scope(
            session, actor, pairing.household_id, Action.MANAGE_HOUSEHOLDS
        )
        if ended_on < pairing.started_on:
            raise InvalidInput(
                "a pairing ends on or after the day it started",
                errors={"ended_on": ["before it started"]},
            )
        # Conditional, so two staff ending it at once leave the first one's day.
        ended = rows_changed(
            session.execute(
                update(HouseholdPairing)
                .where(HouseholdPairing.id == pairing.id, HouseholdPairing.ended_on.is_(None))
                .values(ended_on=ended_on)
            )
        )
        if not ended:
            raise PairingEnded("this pairing has ended already")
        uow.commit()
        session.refresh(pairing)
        member = session.get(User, pairing.member_id)
        assert member is not None  # a foreign key
        return Paired(pairing, household, member)


def pairings_of(session: Session, actor: Actor, household_id: int) -> list[Paired]:
    """A household's pairings, running ones and ended, newest first."""
    household, _ = household_in_scope(session, actor, household_id, Action.VIEW_HOUSEHOLDS)
    rows = session.execute(
        select(HouseholdPairing, User)
        .join(User, User.id == HouseholdPairing.member_id)
        .where(HouseholdPairing.household_id == household.id)
        .order_by(HouseholdPairing.started_on.desc(), HouseholdPairing.id.desc())
    ).all()
    return [Paired(pairing, household, member) for pairing, member in rows]


def my_pairings(session: Session, actor: Actor, today: date) -> list[Paired]:
    """The households the actor looks after today (联户), for their visits."""
    rows = session.execute(
        select(HouseholdPairing, Household, User)
        .join(Household, Household.id == HouseholdPairing.household_id)
        .join(User, User.id == HouseholdPairing.member_id)
        .where(
            HouseholdPairing.member_id == actor.user_id,
            runs_on(HouseholdPairing.started_on, HouseholdPairing.ended_on, today),
        )
        .order_by(Household.id)
    ).all()
    return [Paired(pairing, household, member) for pairing, household, member in rows]


def _is_party_member(session: Session, user_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    RoleGrant.user_id == user_id,
                    RoleGrant.role == Role.MEMBER.value,
                    RoleGrant.scope_type == ScopeType.PLACE.value,
                )
            )
        )
    )
