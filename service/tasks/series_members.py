"""Members signed up for a whole series (报名整个系列), enrolled in an occurrence as it
is posted: by the ordinary sign-up rules, each as themselves, in the poster's
transaction, in the order they joined. A full occurrence puts them on its waitlist
(they asked for every one, so they keep their turn for it); one they may no longer
see or join (they moved away, lost the role the audience asks) is skipped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.no_shows import TooManyNoShows
from points.recurrence import SeriesSignupStatus
from points.tasks import NotInAudience
from service.access import load_account
from service.tasks.board import place_visible
from service.tasks.models import Participation, SeriesSignup, Task
from service.tasks.signups import AlreadySignedUp, NotOpen, enrol

# What makes an occurrence one a member of the series can't be enrolled in: skipped
# (one held back by no-shows is enrolled again in the occurrences after it clears).
SKIPPED = (AlreadySignedUp, NotOpen, NotInAudience, TooManyNoShows)


def enrol_members(
    session: Session, series_id: int, task: Task, now: datetime
) -> list[Participation]:
    members = session.scalars(
        select(SeriesSignup.user_id)
        .where(
            SeriesSignup.series_id == series_id,
            SeriesSignup.status == SeriesSignupStatus.ACTIVE.value,
        )
        .order_by(SeriesSignup.joined_at, SeriesSignup.id)
    ).all()
    enrolled = []
    for user_id in members:
        account = load_account(session, user_id)
        if account is None or not account.active:
            continue  # a disabled account takes no more places
        actor = account.actor
        if not place_visible(session, actor, task.place_id, now, True):
            continue
        try:
            enrolled.append(enrol(session, actor, task, now, waitlist=True))
        except SKIPPED:
            continue
    return enrolled
