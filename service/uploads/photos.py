"""Taking in photos, attaching them to submitted work, and showing them."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from points.access import Actor
from points.content import ReviewStatus
from points.errors import InvalidInput, TooLarge
from points.uploads import (
    MAX_PHOTOS_PER_SUBMISSION,
    UNATTACHED_KEPT,
    BadPhotoLink,
    check_link,
    derive_key,
)
from service.moderation.models import ContentReview
from service.moderation.photos import (
    UPLOAD,
    is_quarantined,
    send_photo_check,
    start_photo_check,
)
from service.unit_of_work import UnitOfWork
from service.uploads.images import clean_photo
from service.uploads.models import ParticipationPhoto, Upload
from service.uploads.storage import UploadStore
from service.wechat.security import ContentSecurity


@dataclass(frozen=True)
class PhotoFile:
    data: bytes
    content_type: str


def take_photo(
    uow: UnitOfWork,
    store: UploadStore,
    actor: Actor,
    data: bytes,
    max_bytes: int,
    checks: ContentSecurity,
    media_url: Callable[[int], str],
    now: datetime,
) -> Upload:
    """Check, clean and keep a photo; it waits, unattached, for a submission, and is
    its owner's alone until WeChat's content check passes it (service/moderation)."""
    if len(data) > max_bytes:
        raise TooLarge(
            f"a photo may be at most {max_bytes // 1024} KiB",
            errors={"file": [f"{len(data)} bytes is over the {max_bytes} byte limit"]},
        )
    if not data:
        raise InvalidInput("the file is empty", errors={"file": ["empty"]})
    photo = clean_photo(data)
    name = f"{secrets.token_urlsafe(24)}.{photo.extension}"
    # The file first: a row never points at a file that isn't there. If the row
    # doesn't commit, the file is removed again.
    store.save(name, photo.data, photo.content_type)
    try:
        with uow:
            upload = Upload(
                owner_id=actor.user_id,
                storage_name=name,
                content_type=photo.content_type,
                size_bytes=len(photo.data),
                width=photo.width,
                height=photo.height,
                sha256=hashlib.sha256(photo.data).hexdigest(),
            )
            uow.session.add(upload)
            uow.session.flush()
            start_photo_check(uow.session, upload.id, actor.user_id, now)
            uow.commit()
    except BaseException:
        store.delete(name)
        raise
    send_photo_check(uow, checks, upload.id, media_url, (photo.width, photo.height), now)
    return upload


def check_own_photos(
    session: Session, owner_id: int, upload_ids: Sequence[int], now: datetime
) -> list[int]:
    """Photos someone hands in with a report or a visit: theirs, sent within
    ``UNATTACHED_KEPT``, each once, at most nine. Answers the ids in the order given."""
    wanted = _listed_once(upload_ids)
    if wanted:
        own = session.scalars(
            select(Upload.id).where(Upload.id.in_(wanted), *_nameable_by(owner_id, now))
        )
        _refuse_others(
            wanted,
            set(own),
            "some photos are not yours, or were sent too long ago: send them again",
            f"is not a photo of yours sent in the last {UNATTACHED_KEPT.days} days",
        )
    return wanted


def attach_to_participation(
    session: Session,
    owner_id: int,
    participation_id: int,
    upload_ids: Sequence[int],
    now: datetime,
) -> None:
    """Attach the owner's own, still unattached photos sent within ``UNATTACHED_KEPT``,
    in the order given."""
    wanted = _listed_once(upload_ids)
    if not wanted:
        return
    usable = session.scalars(
        select(Upload.id)
        .outerjoin(ParticipationPhoto, ParticipationPhoto.upload_id == Upload.id)
        .where(
            Upload.id.in_(wanted),
            *_nameable_by(owner_id, now),
            ParticipationPhoto.upload_id.is_(None),
        )
    )
    _refuse_others(
        wanted,
        set(usable),
        "some photos are not yours to attach, belong to other work already, or were sent "
        "too long ago: send them again",
        f"is not an unattached photo of yours sent in the last {UNATTACHED_KEPT.days} days",
    )
    session.add_all(
        ParticipationPhoto(participation_id=participation_id, upload_id=upload_id, position=index)
        for index, upload_id in enumerate(wanted)
    )


def _nameable_by(owner_id: int, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Photos someone may still name: their own, sent within ``UNATTACHED_KEPT``
    (after that `lianxin uploads prune` may delete them)."""
    return (Upload.owner_id == owner_id, Upload.created_at > now - UNATTACHED_KEPT)


def _listed_once(upload_ids: Sequence[int]) -> list[int]:
    """The ids in the order given, each once, at most nine (wx.chooseMedia's limit)."""
    wanted = list(dict.fromkeys(upload_ids))
    if len(wanted) != len(upload_ids):
        raise InvalidInput("a photo is listed twice", errors={"upload_ids": ["duplicates"]})
    if len(wanted) > MAX_PHOTOS_PER_SUBMISSION:
        raise InvalidInput(
            f"at most {MAX_PHOTOS_PER_SUBMISSION} photos",
            errors={"upload_ids": [f"more than {MAX_PHOTOS_PER_SUBMISSION}"]},
        )
    return wanted


def _refuse_others(wanted: list[int], allowed: set[int], message: str, reason: str) -> None:
    refused = [upload_id for upload_id in wanted if upload_id not in allowed]
    if refused:
        raise InvalidInput(
            message, errors={"upload_ids": [f"{upload_id} {reason}" for upload_id in refused]}
        )


def open_photo(
    session: Session,
    store: UploadStore,
    secret_key: str,
    upload_id: int,
    expires: int,
    signature: str,
    now: datetime,
) -> PhotoFile:
    """A photo behind a signed link; a bad or stale link is a plain 404."""
    check_link(derive_key(secret_key), upload_id, expires, signature, now)
    upload = session.get(Upload, upload_id)
    # A quarantined photo is served to nobody, whatever link they hold.
    if upload is None or is_quarantined(session, upload_id):
        raise BadPhotoLink("photo not found")
    try:
        data = store.read(upload.storage_name)
    except FileNotFoundError:
        raise BadPhotoLink("photo not found") from None
    return PhotoFile(data=data, content_type=upload.content_type)


def photo_ids(session: Session, participation_id: int) -> list[int]:
    """The photos handed in with a participation, in their order."""
    return list(
        session.scalars(
            select(ParticipationPhoto.upload_id)
            .where(ParticipationPhoto.participation_id == participation_id)
            .order_by(ParticipationPhoto.position)
        )
    )


# Long enough that an upload still asking WeChat is not asked twice.
UNSENT_AFTER = timedelta(minutes=2)


def recheck_photos(
    uow: UnitOfWork,
    checks: ContentSecurity,
    media_url: Callable[[int], str],
    now: datetime,
    *,
    limit: int = 200,
) -> int:
    """Ask again for the checks WeChat never took (it was down when the photo came):
    without a check a photo would stay private for ever. Answers how many were asked;
    those WeChat still can't take wait for the next run."""
    unsent = uow.session.execute(
        select(Upload.id, Upload.width, Upload.height)
        .join(ContentReview, ContentReview.subject_id == Upload.id)
        .where(
            ContentReview.subject == UPLOAD,
            ContentReview.status == ReviewStatus.PENDING.value,
            ContentReview.trace_id.is_(None),
            ContentReview.created_at < now - UNSENT_AFTER,
        )
        .order_by(Upload.id)
        .limit(limit)
    ).all()
    uow.session.rollback()  # end the read: each check below is its own transaction
    for upload_id, width, height in unsent:
        send_photo_check(uow, checks, upload_id, media_url, (width, height), now)
    return len(unsent)
