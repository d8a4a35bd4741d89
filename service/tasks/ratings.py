"""群众来评判 of task work: a resident of a household the work reached rates it.

One rating per participation and household, 1 to 5 with a short comment, which its
rater may change for a week. A rating of 1 or 2 puts the approved work back before
staff (核查), with the comment as the reason: they keep it, saying why, or reverse the
approval (which settles the rating's review too). Nobody rates their own work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, SelfApproval, Target, place_prefixes, require
from points.content import Scene
from points.demands import LOW_RATING, RATING_CHANGEABLE, NotRateable, RatingSettled, check_score
from points.errors import Conflict, Forbidden, InvalidInput, NotFound
from points.tasks import ParticipationStatus
from service.db import rows_changed
from service.households.models import Household, HouseholdResident, ParticipationHousehold
from service.moderation.text import hold_text, screen_text
from service.people.models import User
from service.places.models import Place
from service.tasks.models import Participation, ParticipationRating, Task
from service.unit_of_work import UnitOfWork
from service.wechat.security import ContentSecurity

# How long after approval the households reached may still rate the work.
RATEABLE_FOR = timedelta(days=30)


class AlreadyRated(Conflict):
    """Another resident of the household rated this work: one rating per door."""

    code = "already_rated"


class RatingChanged(Conflict):
    code = "rating_changed"


@dataclass(frozen=True)
class RatedWork:
    """A rating with what it is about, for the staff who review it."""

    rating: ParticipationRating
    participation: Participation
    task_title: str
    household_label: str
    volunteer_name: str | None


def _household_of_rater(session: Session, actor: Actor, participation_id: int) -> int | None:
    """The household (lowest id) the work reached that the actor lives in."""
    return session.scalar(
        select(ParticipationHousehold.household_id)
        .join(
            HouseholdResident,
            HouseholdResident.household_id == ParticipationHousehold.household_id,
        )
        .where(
            ParticipationHousehold.participation_id == participation_id,
            HouseholdResident.user_id == actor.user_id,
        )
        .order_by(ParticipationHousehold.household_id)
        .limit(1)
    )


def rate_participation(
    uow: UnitOfWork,
    actor: Actor,
    participation_id: int,
    score: int,
    comment: str,
    now: datetime,
    *,
    checks: ContentSecurity,
) -> ParticipationRating:
    """The comment is screened by WeChat first (a comment on work done: scene 评论)."""
    comment = comment.strip()
    screened = screen_text(uow.session, checks, actor.user_id, comment, Scene.COMMENT, "comment")
    with uow:
        session = uow.session
        participation = session.get(Participation, participation_id)
        household_id = (
            _household_of_rater(session, actor, participation.id) if participation else None
        )
        if participation is None or household_id is None:
            # Those it didn't reach learn nothing of someone else's work.
            raise NotFound("participation not found")
        check_score(score)
        if participation.user_id == actor.user_id:
            raise SelfApproval("nobody rates their own work")
        if participation.status != ParticipationStatus.APPROVED.value:
            raise NotRateable(f"only approved work is rated; this is {participation.status}")
        decided_at = participation.decided_at
        if decided_at is not None and now - decided_at > RATEABLE_FOR:
            raise NotRateable(f"work is rated within {RATEABLE_FOR.days} days of its approval")
        rating = session.scalars(
            select(ParticipationRating).where(
                ParticipationRating.participation_id == participation.id,
                ParticipationRating.household_id == household_id,
            )
        ).one_or_none()
        if rating is None:
            rating = ParticipationRating(
                participation_id=participation.id,
                household_id=household_id,
                rater_id=actor.user_id,
                created_at=now,
            )
            session.add(rating)
        elif rating.rater_id != actor.user_id:
            raise AlreadyRated("someone of your household rated this work already")
        elif now - rating.created_at > RATING_CHANGEABLE:
            raise RatingSettled("a rating can be changed for 7 days after it was given")
        rating.score, rating.comment, rating.updated_at = score, comment, now
        # A low score asks for a (new) review; a raised one needs none.
        rating.reviewed_at = rating.reviewed_by_id = rating.review_note = None
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:  # two residents of one door at once
            raise RatingChanged("this work was rated a moment ago; reload it") from None
        task = session.get(Task, participation.task_id)
        assert task is not None  # a foreign key
        hold_text(
            session,
            screened,
            subject="work_rating",
            subject_id=rating.id,
            field="comment",
            author_id=actor.user_id,
            place_id=task.place_id,
            now=now,
        )
        uow.commit()
        return rating


def review_rating(
    uow: UnitOfWork, actor: Actor, rating_id: int, note: str, now: datetime
) -> ParticipationRating:
    """Staff looked at low-rated work again and keep it as approved, saying why."""
    with uow:
        session = uow.session
        rating = session.get(ParticipationRating, rating_id)
        place = (
            session.scalar(
                select(Place)
                .join(Task, Task.place_id == Place.id)
                .join(Participation, Participation.task_id == Task.id)
                .where(Participation.id == rating.participation_id)
            )
            if rating is not None
            else None
        )
        if rating is None or place is None:
            raise NotFound("rating not found")
        require(actor, Action.MANAGE_TASKS, Target(place_path=place.path), what="rating")
        if not note.strip():
            raise InvalidInput("say why the work stands", errors={"note": ["required"]})
        if rating.score > LOW_RATING:
            raise NotRateable("only a low rating (1 or 2) asks for a review")
        kept = session.execute(
            update(ParticipationRating)
            .where(
                ParticipationRating.id == rating.id,
                ParticipationRating.reviewed_at.is_(None),
                ParticipationRating.updated_at == rating.updated_at,
            )
            .values(reviewed_at=now, reviewed_by_id=actor.user_id, review_note=note.strip())
        )
        if not rows_changed(kept):
            raise RatingChanged("this rating was reviewed or changed a moment ago; reload it")
        uow.commit()
        session.refresh(rating)
        return rating


def settle_reviews(
    session: Session, actor: Actor, participation_id: int, reason: str, now: datetime
) -> None:
    """The work was reversed: that was the review its low ratings asked for."""
    session.execute(
        update(ParticipationRating)
        .where(
            ParticipationRating.participation_id == participation_id,
            ParticipationRating.reviewed_at.is_(None),
            ParticipationRating.score <= LOW_RATING,
        )
        .values(reviewed_at=now, reviewed_by_id=actor.user_id, review_note=reason)
    )


def rated_work(
    session: Session,
    actor: Actor,
    *,
    place_id: int | None,
    waiting_only: bool,
    limit: int,
    offset: int,
) -> list[RatedWork]:
    """Ratings of work in the actor's places, newest first; ``waiting_only``: the low
    ones nobody has reviewed yet (the approvals view's 核查 queue)."""
    prefixes = place_prefixes(actor, Action.MANAGE_TASKS)
    if not prefixes:
        raise Forbidden("your roles do not include approving work")
    query = (
        select(ParticipationRating, Participation, Task.title, Household.label, User.name)
        .join(Participation, Participation.id == ParticipationRating.participation_id)
        .join(Task, Task.id == Participation.task_id)
        .join(Place, Place.id == Task.place_id)
        .join(Household, Household.id == ParticipationRating.household_id)
        .join(User, User.id == Participation.user_id)
        .where(or_(*(Place.path.startswith(prefix) for prefix in prefixes)))
        .order_by(ParticipationRating.updated_at.desc(), ParticipationRating.id.desc())
        .offset(offset)
        .limit(limit)
    )
    if waiting_only:
        query = query.where(
            ParticipationRating.score <= LOW_RATING, ParticipationRating.reviewed_at.is_(None)
        )
    if place_id is not None:
        root = session.get(Place, place_id)
        if root is None:
            raise NotFound("place not found", errors={"org_id": ["no such place"]})
        query = query.where(Place.path.startswith(root.path))
    return [RatedWork(*row) for row in session.execute(query)]


@dataclass(frozen=True)
class RateableWork:
    participation: Participation
    task_title: str
    household_id: int
    household_label: str
    volunteer_name: str | None
    my_score: int | None


def my_rateable_work(session: Session, actor: Actor, now: datetime) -> list[RateableWork]:
    """Approved work of the last 30 days that reached a household the actor lives in,
    with their rating if they gave one: what the mini-program asks them to rate."""
    mine = (
        select(ParticipationRating.score)
        .where(
            ParticipationRating.participation_id == Participation.id,
            ParticipationRating.household_id == ParticipationHousehold.household_id,
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(Participation, Task.title, Household.id, Household.label, User.name, mine)
        .join(ParticipationHousehold, ParticipationHousehold.participation_id == Participation.id)
        .join(
            HouseholdResident,
            HouseholdResident.household_id == ParticipationHousehold.household_id,
        )
        .join(Household, Household.id == ParticipationHousehold.household_id)
        .join(Task, Task.id == Participation.task_id)
        .join(User, User.id == Participation.user_id)
        .where(
            HouseholdResident.user_id == actor.user_id,
            Participation.user_id != actor.user_id,
            Participation.status == ParticipationStatus.APPROVED.value,
            Participation.decided_at >= now - RATEABLE_FOR,
        )
        .order_by(Participation.decided_at.desc(), Participation.id.desc())
        .limit(100)
    )
    return [RateableWork(*row) for row in rows]
