"""A member's public card (名片): the name they let others see, their level and badges.
Shown to people of the same community and to those whose grants cover where the member
lives; to anyone else the member is not there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from points.access import Actor, Target, covers
from points.achievements import BadgeProgress, Level
from points.certificates import mask_name
from points.errors import NotFound
from service.achievements.standing import achievements_of
from service.certificates.records import organisation_of, places_above
from service.people.models import User


@dataclass(frozen=True)
class Card:
    user_id: int
    display_name: str
    avatar_url: str | None
    anonymous: bool  # the member keeps off the boards, so their name is masked here too
    level: Level | None
    badges: list[BadgeProgress]  # earned ones only


def member_card(
    session: Session, actor: Actor, user_id: int, levels: Sequence[Level], today: date
) -> Card:
    member = session.get(User, user_id)
    if member is None or not _may_see(session, actor, member):
        raise NotFound("member not found")
    earned = achievements_of(session, member.id, levels, today)
    # The choice to stay off the leaderboards is the member's say over being shown to
    # neighbours by name; a card is no back door around it.
    anonymous = member.leaderboard_opt_out
    return Card(
        user_id=member.id,
        display_name=mask_name(member.name) if anonymous else member.name,
        avatar_url=None if anonymous else member.avatar_url,
        anonymous=anonymous,
        level=earned.standing.level,
        badges=earned.earned,
    )


def _may_see(session: Session, actor: Actor, member: User) -> bool:
    if member.id == actor.user_id:
        return True
    if not member.active or member.residence_place_id is None:
        return False
    viewer = session.get(User, actor.user_id)
    homes = {member.residence_place_id}
    if viewer is not None and viewer.residence_place_id is not None:
        homes.add(viewer.residence_place_id)
    places = places_above(session, homes)
    lives = places[member.residence_place_id].path
    if any(covers(grant, Target(place_path=lives)) for grant in actor.grants):
        return True
    if viewer is None or viewer.residence_place_id is None:
        return False
    # Neighbours: the nearest community at or above each one's home is the same.
    mine = organisation_of(places, viewer.residence_place_id)
    theirs = organisation_of(places, member.residence_place_id)
    return mine.id == theirs.id
