"""A person's own profile: what they see of themselves and may change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from points.access import Role, ScopeType
from points.errors import Conflict, InvalidInput, NotFound
from points.places import PlaceLevel
from service.access import Actor
from service.auth.sign_in import SignedIn, issue_tokens
from service.db import utcnow
from service.people.directory import ensure_grant
from service.people.models import User
from service.people.phones import PhoneVault
from service.places.models import Place
from service.unit_of_work import UnitOfWork

# Where a resident may say they live: a community or anything below it.
RESIDENCE_LEVELS = frozenset({PlaceLevel.COMMUNITY, PlaceLevel.GRID, PlaceLevel.BUILDING})


class PhoneGateway(Protocol):
    def phone_number(self, code: str) -> str: ...


class ResidenceLocked(Conflict):
    code = "residence_locked"


class PhoneTaken(Conflict):
    code = "phone_taken"


class AccountHasHistory(Conflict):
    code = "account_has_history"


@dataclass(frozen=True)
class ProfileChanges:
    name: str | None = None
    avatar_url: str | None = None
    privacy_policy_version: str | None = None
    residence_place_id: int | None = None
    hide_from_leaderboards: bool | None = None


@dataclass(frozen=True)
class PhoneBound:
    user: User
    # Set when the phone matched a roster entry staff had loaded: the person now signs
    # in as that entry (with its roles), and these tokens replace the old ones.
    signed_in: SignedIn | None


def own_user(uow: UnitOfWork, actor: Actor) -> User:
    user = uow.session.get(User, actor.user_id)
    if user is None:
        raise NotFound("user not found")
    return user


def update_profile(uow: UnitOfWork, actor: Actor, changes: ProfileChanges) -> User:
    with uow:
        user = own_user(uow, actor)
        if changes.name is not None:
            user.name = changes.name
        if changes.avatar_url is not None:
            user.avatar_url = changes.avatar_url
        if changes.privacy_policy_version is not None:
            user.privacy_policy_version = changes.privacy_policy_version
            user.privacy_consented_at = utcnow()
        if changes.residence_place_id is not None:
            _choose_residence(uow, user, changes.residence_place_id)
        hide = changes.hide_from_leaderboards
        if hide is not None and hide != user.leaderboard_opt_out:
            user.leaderboard_opt_out = hide
        uow.commit()
        return user


def _choose_residence(uow: UnitOfWork, user: User, place_id: int) -> None:
    if user.residence_place_id == place_id:
        return
    if user.residence_place_id is not None:
        # Moving between communities changes who manages a person and where their
        # points count, so only staff may do it.
        raise ResidenceLocked("your residence is set; ask community staff to move you")
    place = uow.session.get(Place, place_id)
    if place is None:
        raise NotFound("place not found", errors={"residence_place_id": ["no such place"]})
    if place.place_level not in RESIDENCE_LEVELS:
        raise InvalidInput(
            "choose a community, grid or building",
            errors={"residence_place_id": ["must be a community, grid or building"]},
        )
    user.residence_place_id = place.id
    ensure_grant(uow.session, user, Role.RESIDENT, ScopeType.ORG, place.id)


def bind_phone(
    uow: UnitOfWork,
    actor: Actor,
    wechat: PhoneGateway,
    vault: PhoneVault,
    secret_key: str,
    code: str,
    now: datetime,
) -> PhoneBound:
    phone = wechat.phone_number(code)  # network first; no transaction held open meanwhile
    sealed = vault.seal(phone)
    with uow:
        session = uow.session
        user = own_user(uow, actor)
        holder = session.scalars(
            select(User).where(User.phone_hash == sealed.lookup_hash)
        ).one_or_none()
        if holder is None or holder.id == user.id:
            user.phone_ciphertext = sealed.ciphertext
            user.phone_hash = sealed.lookup_hash
            user.phone_masked = sealed.masked
            uow.commit()
            return PhoneBound(user, None)
        if holder.openid is not None:
            raise PhoneTaken("this phone number is bound to another WeChat account")
        roster_entry = _absorb_into_roster_entry(uow, user, holder, now)
        signed_in = issue_tokens(session, secret_key, roster_entry, now)
        uow.commit()
        return PhoneBound(roster_entry, signed_in)


def _absorb_into_roster_entry(uow: UnitOfWork, user: User, entry: User, now: datetime) -> User:
    """The person staff pre-loaded (with branch, residence and roles) signs in from now
    on; the account WeChat sign-in had just created for them is retired, with its grants
    and refresh tokens. If anything else already refers to it (points, sign-ups, …) the
    database refuses the delete, and two histories are never merged silently."""
    session = uow.session
    openid, unionid = user.openid, user.unionid
    consent = (user.privacy_policy_version, user.privacy_consented_at, user.avatar_url)
    try:
        with session.begin_nested():
            session.delete(user)
            session.flush()  # frees the openid too
    except IntegrityError:
        raise AccountHasHistory(
            "you are on the community roster, but this account already has a history; "
            "ask community staff to link the two"
        ) from None
    entry.openid, entry.unionid = openid, unionid
    entry.privacy_policy_version, entry.privacy_consented_at = consent[0], consent[1]
    entry.avatar_url = entry.avatar_url or consent[2]
    entry.last_sign_in_at = now
    session.flush()
    return entry
