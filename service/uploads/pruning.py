"""Deleting photos nobody handed in (`lianxin uploads prune`, nightly).

A photo is in use once a submission attaches it (participation_photo) or a visit or a
demand names it (their ``upload_ids``). One sent but not in use after
``UNATTACHED_KEPT`` can no longer be named (service/uploads/photos.py), so deleting it
races with nothing. Rows go first, in one transaction, then files: a file whose
deletion fails is left behind, never a row pointing at no file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from points.uploads import UNATTACHED_KEPT
from service.demands.models import Demand
from service.households.models import HouseholdVisit
from service.unit_of_work import UnitOfWork
from service.uploads.models import ParticipationPhoto, Upload
from service.uploads.storage import UploadStore

log = logging.getLogger(__name__)

# Beyond UNATTACHED_KEPT, so a photo named at the very edge of its time, in a request
# still running while the job starts, is not deleted under it.
_MARGIN = timedelta(hours=1)
_BATCH = 500


@dataclass(frozen=True)
class Pruned:
    photos: int  # rows deleted
    files_left: int  # files that could not be deleted (logged); their rows are gone


def prune_unattached(uow: UnitOfWork, store: UploadStore, now: datetime) -> Pruned:
    """Delete the photos not in use ``UNATTACHED_KEPT`` after they were sent, and their
    files. Safe to run again: what it deleted is gone, what is in use stays."""
    with uow:
        session = uow.session
        unused = _not_in_use(session, now - UNATTACHED_KEPT - _MARGIN)
        ids = sorted(unused)
        for start in range(0, len(ids), _BATCH):
            session.execute(delete(Upload).where(Upload.id.in_(ids[start : start + _BATCH])))
        uow.commit()
    files_left = 0
    for upload_id in ids:
        try:
            store.delete(unused[upload_id])
        except OSError:
            files_left += 1
            log.exception("photo %s: row deleted, its file could not be", upload_id)
    return Pruned(photos=len(ids), files_left=files_left)


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
    ):
        for upload_ids in named:
            for upload_id in upload_ids or ():
                unused.pop(upload_id, None)
    return unused
