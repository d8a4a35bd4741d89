"""A person's own profile: what they see of themselves and may change."""

from __future__ import annotations

from dataclasses import dataclass

from points.access import Actor, Role, ScopeType
from points.errors import Conflict, InvalidInput, NotFound
from points.places import PlaceLevel
from service.db import utcnow
from service.people.directory import grant_role_to
from service.people.models import User
from service.places.models import Place
from service.unit_of_work import UnitOfWork

# Where a resident may say they live: a community or anything below it, however deep.
RESIDENCE_LEVELS = frozenset(
    level for level in PlaceLevel if level.rank >= PlaceLevel.COMMUNITY.rank
)


class ResidenceLocked(Conflict):
    code = "residence_locked"


@dataclass(frozen=True)
class ProfileChanges:
    name: str | None = None
    avatar_url: str | None = None
    privacy_policy_version: str | None = None
    residence_place_id: int | None = None
    hide_from_leaderboards: bool | None = None


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
            "choose a community or a place in one",
            errors={"residence_place_id": ["must be a community or below one"]},
        )
    user.residence_place_id = place.id
    grant_role_to(uow.session, user, Role.RESIDENT, ScopeType.PLACE, place.id, actor_id=user.id)
