"""群众来评判: the resident who raised a demand rates what was done, once it was done.

One rating a demand, 1 to 5 with a short comment, which its rater may change for a
week. A rating of 1 or 2 sends the demand back to 核查, with the comment as the reason,
and off the public list until it is published again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from points.access import Action, Actor, SelfApproval, require
from points.content import Scene
from points.demands import (
    LOW_RATING,
    RATEABLE,
    RATING_CHANGEABLE,
    DemandAction,
    DemandLevel,
    DemandStatus,
    NotRateable,
    RatingSettled,
    Stage,
    check_score,
)
from points.errors import Forbidden
from service.demands.deadlines import deadline
from service.demands.loop import DemandChanged, load_demand, move_demand, place_target
from service.demands.models import Demand, DemandEvent, DemandRating
from service.moderation.text import hold_text, screen_text
from service.unit_of_work import UnitOfWork
from service.wechat.security import ContentSecurity


def rate_demand(
    uow: UnitOfWork,
    actor: Actor,
    demand_id: int,
    score: int,
    comment: str,
    now: datetime,
    *,
    checks: ContentSecurity,
) -> Demand:
    """The comment is screened by WeChat first (a comment on work done: scene 评论)."""
    comment = comment.strip()
    screened = screen_text(uow.session, checks, actor.user_id, comment, Scene.COMMENT, "comment")
    with uow:
        session = uow.session
        demand = load_demand(session, demand_id)
        # An order filed for a household (代办) is rated by the resident it served, or
        # by whoever filed it, asking them.
        if actor.user_id not in (demand.reporter_id, demand.served_user_id):
            require(actor, Action.HANDLE_DEMANDS, place_target(session, demand), what="demand")
            raise Forbidden("only the resident who raised a demand rates it")
        check_score(score)
        status = DemandStatus(demand.status)
        if status not in RATEABLE:
            raise NotRateable(f"nothing to rate yet: this demand is {status.value}")
        if actor.user_id in (demand.resolved_by_id, demand.owner_user_id):
            raise SelfApproval("nobody rates their own work")
        rating = session.scalars(
            select(DemandRating).where(DemandRating.demand_id == demand.id)
        ).one_or_none()
        if rating is None:
            rating = DemandRating(demand_id=demand.id, rater_id=actor.user_id, created_at=now)
            session.add(rating)
        elif now - rating.created_at > RATING_CHANGEABLE:
            raise RatingSettled("a rating can be changed for 7 days after it was given")
        rating.score, rating.comment, rating.updated_at = score, comment, now
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:  # the same rater, twice at once
            raise DemandChanged("this demand changed a moment ago; reload it") from None
        session.add(
            DemandEvent(
                demand_id=demand.id,
                action="rate",
                from_status=status.value,
                to_status=status.value,
                actor_id=actor.user_id,
                note=comment,
                details={"score": score},
                at=now,
            )
        )
        hold_text(
            session,
            screened,
            subject="rating",
            subject_id=demand.id,
            field="comment",
            author_id=actor.user_id,
            place_id=demand.place_id,
            now=now,
        )
        if score <= LOW_RATING and status is not DemandStatus.RESOLVED:
            level = DemandLevel(demand.level or DemandLevel.GRID.value)
            move_demand(
                session,
                actor,
                demand,
                DemandAction.REOPEN,
                now,
                note=comment or f"群众评价 {score} 星",
                details={"score": score},
                published_at=None,
                closed_at=None,
                verified_at=None,
                verified_by_id=None,
                verify_due_at=deadline(session, Stage.VERIFY, level, demand.category, now),
            )
        uow.commit()
        session.refresh(demand)
        return demand
