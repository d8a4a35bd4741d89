"""Residents without a smartphone (无智能手机的居民): staff put them on the register
themselves. They never sign in; a proxy (代办人) acts for them, so they still earn,
redeem and are served like anyone living there."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from points.access import Action, Actor, Role, ScopeType
from points.errors import InvalidInput
from service.auth.phone_binding import PhoneTaken
from service.households.models import HouseholdResident
from service.households.register import household_in_scope
from service.people.directory import grant_role_to
from service.people.models import User
from service.people.phones import PhoneVault
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class OfflineResident:
    name: str
    phone: str | None = None  # a landline-less elder may have none; a family phone is fine


def register_offline_resident(
    uow: UnitOfWork,
    actor: Actor,
    household_id: int,
    spec: OfflineResident,
    vault: PhoneVault | None,
) -> User:
    """A person with no WeChat account, living in the household: a resident of its
    place (so points can be credited to them and they are on the register). The vault
    seals the phone, when there is one."""
    name = spec.name.strip()
    if not name:
        raise InvalidInput("say who they are", errors={"name": ["required"]})
    if spec.phone and vault is None:
        raise ValueError("a phone is kept only sealed: pass the vault")  # a caller's slip
    sealed = vault.seal(spec.phone) if spec.phone and vault else None
    with uow:
        session = uow.session
        household, place = household_in_scope(
            session, actor, household_id, Action.MANAGE_HOUSEHOLDS
        )
        person = User(
            name=name,
            residence_place_id=place.id,
            phone_ciphertext=sealed.ciphertext if sealed else None,
            phone_hash=sealed.lookup_hash if sealed else None,
            phone_masked=sealed.masked if sealed else None,
        )
        try:
            with session.begin_nested():
                session.add(person)
                session.flush()
        except IntegrityError:
            raise PhoneTaken(
                "someone on the register already has this phone",
                errors={"phone": ["already in use"]},
            ) from None
        grant_role_to(
            session, person, Role.RESIDENT, ScopeType.PLACE, place.id, actor_id=actor.user_id
        )
        session.add(
            HouseholdResident(
                household_id=household.id, user_id=person.id, added_by_id=actor.user_id
            )
        )
        uow.commit()
        session.refresh(person)
        return person
