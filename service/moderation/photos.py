"""Photos through WeChat's media_check_async: checked on upload, private until the
verdict arrives by message push (events.py).

Until it passes, a photo is shown to its owner and to staff of the place it was handed
in at; a risky one is quarantined (its file is served to nobody) and the work it was
handed in with is flagged for those staff by its row (``used_in``) on their list.
Photos sent before these checks existed have no row and are shown as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, can
from points.content import PRIVATE, ReviewStatus, Scene, Verdict, status_for
from points.errors import DomainError
from service.moderation.models import ContentReview
from service.people.models import User
from service.places.models import Place
from service.unit_of_work import UnitOfWork
from service.wechat.security import ContentSecurity

log = logging.getLogger(__name__)

UPLOAD = "upload"


def start_photo_check(session: Session, upload_id: int, owner_id: int, now: datetime) -> None:
    """In the upload's own transaction: the photo is pending from its first moment."""
    session.add(
        ContentReview(
            subject=UPLOAD,
            subject_id=upload_id,
            author_id=owner_id,
            status=ReviewStatus.PENDING.value,
            created_at=now,
        )
    )


def send_photo_check(
    uow: UnitOfWork,
    checks: ContentSecurity,
    upload_id: int,
    media_url: Callable[[int], str],
    size: tuple[int, int],
    now: datetime,
) -> None:
    """After the upload committed (WeChat fetches the photo by its link, so it must be
    there): ask for the check and keep its trace_id, by which the verdict comes back.
    If WeChat can't be asked, the photo stays pending, private, and the upload still
    succeeds: the resident's photo is not lost to WeChat being down."""
    session = uow.session
    owner = session.execute(
        select(ContentReview.id, User.openid)
        .join(User, User.id == ContentReview.author_id)
        .where(ContentReview.subject == UPLOAD, ContentReview.subject_id == upload_id)
    ).first()
    if owner is None:
        return
    review_id, openid = owner
    try:
        check = checks.check_photo(
            media_url(upload_id), openid, Scene.FORUM, width=size[0], height=size[1]
        )
    except DomainError as error:
        log.warning("photo check of upload %s not sent: %s", upload_id, error)
        return
    trace_id, verdict = check.trace_id, check.verdict
    with uow:
        values: dict[str, object] = {"trace_id": trace_id}
        if verdict is not None:
            values.update(status=status_for(verdict).value, decided_at=now)
        uow.session.execute(
            update(ContentReview)
            .where(
                ContentReview.id == review_id,
                ContentReview.status == ReviewStatus.PENDING.value,
            )
            .values(**values)
        )
        uow.commit()


def apply_photo_verdict(
    session: Session, trace_id: str, verdict: Verdict, label: int | None, now: datetime
) -> bool:
    """WeChat's verdict on the photo it traced; a verdict given twice (WeChat retries a
    push it thinks we missed) changes nothing the second time. False: no such trace."""
    found = session.scalar(select(ContentReview.id).where(ContentReview.trace_id == trace_id))
    if found is None:
        return False
    session.execute(
        update(ContentReview)
        .where(ContentReview.id == found, ContentReview.status == ReviewStatus.PENDING.value)
        .values(status=status_for(verdict).value, label=label, decided_at=now)
    )
    return True


def note_photo_use(
    session: Session, upload_ids: Sequence[int], used_in: str, used_in_id: int, place_id: int
) -> None:
    """The photos were handed in with this work, at this place: its staff see them."""
    if upload_ids:
        session.execute(
            update(ContentReview)
            .where(ContentReview.subject == UPLOAD, ContentReview.subject_id.in_(upload_ids))
            .values(used_in=used_in, used_in_id=used_in_id, place_id=place_id)
        )


def visible_photos(session: Session, viewer: Actor, upload_ids: Sequence[int]) -> list[int]:
    """Of the photos, in order, those the viewer may be shown: passed (or never
    checked), or still private and the viewer's own or theirs to review."""
    if not upload_ids:
        return []
    private = {
        upload_id: (status, author, path)
        for upload_id, status, author, path in session.execute(
            select(
                ContentReview.subject_id, ContentReview.status, ContentReview.author_id, Place.path
            )
            .outerjoin(Place, Place.id == ContentReview.place_id)
            .where(
                ContentReview.subject == UPLOAD,
                ContentReview.subject_id.in_(upload_ids),
                ContentReview.status.in_([status.value for status in PRIVATE]),
            )
        )
    }

    def shown(upload_id: int) -> bool:
        if upload_id not in private:
            return True
        status, author, path = private[upload_id]
        if status == ReviewStatus.QUARANTINED.value:
            return False
        staff = path is not None and can(viewer, Action.REVIEW_CONTENT, Target(place_path=path))
        return author == viewer.user_id or staff

    return [upload_id for upload_id in upload_ids if shown(upload_id)]


def is_quarantined(session: Session, upload_id: int) -> bool:
    return (
        session.scalar(
            select(ContentReview.id).where(
                ContentReview.subject == UPLOAD,
                ContentReview.subject_id == upload_id,
                ContentReview.status == ReviewStatus.QUARANTINED.value,
            )
        )
        is not None
    )
