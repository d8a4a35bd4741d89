"""Staff's side: what waits for them in their places, and releasing held content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from points.access import Action, Actor, SelfApproval, Target, require
from points.content import ReviewStatus
from points.errors import Conflict, NotFound
from service.moderation.models import ContentReview
from service.places.models import Place
from service.places.tree import named_place
from service.unit_of_work import UnitOfWork


class NotHeld(Conflict):
    code = "content_not_held"


@dataclass(frozen=True)
class ReviewFilter:
    place_id: int
    status: ReviewStatus = ReviewStatus.HELD


def list_reviews(
    session: Session, actor: Actor, wanted: ReviewFilter, limit: int, before_id: int | None
) -> list[ContentReview]:
    """Held text and photos (or quarantined photos: the work they flag) in the place's
    subtree, newest first; the place must be one the actor reviews."""
    place = named_place(session, wanted.place_id)
    require(actor, Action.REVIEW_CONTENT, Target(place_path=place.path), what="place")
    query = (
        select(ContentReview)
        .join(Place, Place.id == ContentReview.place_id)
        .where(Place.path.startswith(place.path), ContentReview.status == wanted.status.value)
        .order_by(ContentReview.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(ContentReview.id < before_id)
    return list(session.scalars(query))


def release_content(uow: UnitOfWork, actor: Actor, review_id: int, now: datetime) -> ContentReview:
    """Let held text or a held photo be seen. Staff of its place only; never one's own;
    once (a conditional UPDATE: of two releasing at once, one does)."""
    with uow:
        session = uow.session
        review = session.get(ContentReview, review_id)
        place = session.get(Place, review.place_id) if review and review.place_id else None
        if review is None or place is None:  # a photo not handed in yet: its owner's only
            raise NotFound("content not found")
        path = place.path
        require(actor, Action.REVIEW_CONTENT, Target(place_path=path), what="content")
        if review.author_id == actor.user_id:
            raise SelfApproval("nobody releases their own text or photos")
        moved = session.execute(
            update(ContentReview)
            .where(ContentReview.id == review.id, ContentReview.status == ReviewStatus.HELD.value)
            .values(status=ReviewStatus.RELEASED.value, decided_at=now, decided_by_id=actor.user_id)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise NotHeld(f"this content is {review.status}, not held")
        uow.commit()
        session.refresh(review)
        return review
