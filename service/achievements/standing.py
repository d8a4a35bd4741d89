"""A member's own achievements: level, hours, the next level, every badge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from points.access import Actor
from points.achievements import BadgeProgress, Level, Service, Standing, badges, standing
from service.certificates.records import verified_hours


@dataclass(frozen=True)
class Achievements:
    standing: Standing
    badges: list[BadgeProgress]  # the whole catalogue, earned or not

    @property
    def earned(self) -> list[BadgeProgress]:
        return [badge for badge in self.badges if badge.earned_on is not None]

    @property
    def to_earn(self) -> list[BadgeProgress]:
        return [badge for badge in self.badges if badge.earned_on is None]


def achievements_of(
    session: Session, user_id: int, levels: Sequence[Level], today: date
) -> Achievements:
    services = [
        Service(row.participation_id, row.task_type, row.served_on, row.hours)
        for row in verified_hours(session, user_id)
    ]
    return Achievements(standing(levels, services), badges(services, today))


def my_achievements(
    session: Session, actor: Actor, levels: Sequence[Level], today: date
) -> Achievements:
    """The actor's level by verified hours and their badges, as of the local day."""
    return achievements_of(session, actor.user_id, levels, today)
