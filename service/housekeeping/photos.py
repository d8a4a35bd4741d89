"""Deleting photos nobody handed in (`lianxin uploads prune`, nightly).

A photo is in use once a submission attaches it (participation_photo) or a visit or a
demand names it (their ``upload_ids``, or a 反馈 step of a demand's timeline), or a
proxy link keeps it as its consent's evidence (代办). One sent but not in use after
``UNATTACHED_KEPT`` can no longer be named (service/uploads/photos.py), so deleting it
races with nothing. Rows go first, in one transaction, then files: a file whose
deletion fails is left behind, never a row pointing at no file.

Then files that no row names are swept, once a day has passed since they were saved (a
photo's file is saved just before its row, in the same request): what a crash between
the two, or between a prune's commit and its file deletions, left behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from points.demands import DemandAction
from points.uploads import UNATTACHED_KEPT
from service.demands.models import Demand, DemandEvent
from service.households.models import HouseholdVisit
from service.moderation.models import ContentReview
from service.moderation.photos import UPLOAD
from service.proxies.models import ProxyLink
from service.unit_of_work import UnitOfWork
from service.uploads.models import ParticipationPhoto, Upload
from service.uploads.storage import UploadStore

log = logging.getLogger(__name__)

# Beyond UNATTACHED_KEPT, so a photo named at the very edge of its time, in a request
# still running while the job starts, is not deleted under it.
_MARGIN = timedelta(hours=1)
# A file this old with no row is left over; a younger one may have its row on the way.
_ORPHAN_AGE = timedelta(days=1)
_BATCH = 500


@dataclass(frozen=True)
class Pruned:
    photos: int  # rows deleted, with their files
    orphans: int  # files no row named, deleted
    files_left: int  # files that could not be deleted (logged)


def prune_unattached(uow: UnitOfWork, store: UploadStore, now: datetime) -> Pruned:
    """Delete the photos not in use ``UNATTACHED_KEPT`` after they were sent, and their
    files; then the files no photo names. Safe to run again: what it deleted is gone,
    what is in use stays."""
    with uow:
        session = uow.session
        unused = _not_in_use(session, now - UNATTACHED_KEPT - _MARGIN)
        ids = sorted(unused)
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            session.execute(delete(Upload).where(Upload.id.in_(batch)))
            # Their content checks go with them: nothing is left to show or release.
            session.execute(
                delete(ContentReview).where(
                    ContentReview.subject == UPLOAD, ContentReview.subject_id.in_(batch)
                )
            )
        uow.commit()
    left = _delete_files(store, [unused[upload_id] for upload_id in ids])
    with uow:
        # A file just refused is as old as its row, so it is no row's now; it has been
        # counted and logged once already.
        orphans = [
            name for name in _orphans(uow.session, store, now - _ORPHAN_AGE) if name not in left
        ]
    left |= _delete_files(store, orphans)
    return Pruned(photos=len(ids), orphans=len(orphans), files_left=len(left))


def _delete_files(store: UploadStore, names: list[str]) -> set[str]:
    """Delete each file; answers those that could not be (each is logged)."""
    failed = set()
    for name in names:
        try:
            store.delete(name)
        except OSError:
            failed.add(name)
            log.exception("photo file %s could not be deleted", name)
    return failed


def _orphans(session: Session, store: UploadStore, saved_before: datetime) -> list[str]:
    """Files saved before ``saved_before`` that no photo row names."""
    orphans: list[str] = []
    names = list(store.saved_before(saved_before))
    for start in range(0, len(names), _BATCH):
        batch = names[start : start + _BATCH]
        named = set(
            session.scalars(select(Upload.storage_name).where(Upload.storage_name.in_(batch)))
        )
        orphans += [name for name in batch if name not in named]
    return orphans


def _not_in_use(session: Session, sent_before: datetime) -> dict[int, str]:
    """Storage names of photos sent before ``sent_before`` and in use nowhere, by id."""
    candidates = session.execute(
        select(Upload.id, Upload.storage_name, Upload.created_at)
        .outerjoin(ParticipationPhoto, ParticipationPhoto.upload_id == Upload.id)
        .where(Upload.created_at < sent_before, ParticipationPhoto.upload_id.is_(None))
    ).all()
    if not candidates:
        return {}
    unused = {upload_id: name for upload_id, name, _ in candidates}
    # A visit or demand names only photos sent before it was written: only those written
    # since the oldest candidate was sent can name one.
    since = min(sent_at for _, _, sent_at in candidates)
    for named in (
        session.scalars(
            select(HouseholdVisit.upload_ids).where(HouseholdVisit.created_at >= since)
        ),
        session.scalars(select(Demand.upload_ids).where(Demand.created_at >= since)),
        # A photo of the signed consent form (代办) is kept while its link is.
        (
            [
                upload_id
                for upload_id in session.scalars(select(ProxyLink.consent_upload_id))
                if upload_id is not None
            ],
        ),
        # Each 反馈's photos stay with its step of the timeline, even one sent back.
        (
            details.get("upload_ids")
            for details in session.scalars(
                select(DemandEvent.details).where(
                    DemandEvent.at >= since, DemandEvent.action == DemandAction.RESOLVE.value
                )
            )
        ),
    ):
        for upload_ids in named:
            for upload_id in upload_ids or ():
                unused.pop(upload_id, None)
    return unused
