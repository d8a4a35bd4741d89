"""Posting the occurrences of every active series due within a horizon (``lianxin
tasks generate``, and the worker every hour).

Each series in its own transaction, so one that fails (its place gone, say) doesn't
hold back the rest. Running it again, or two runs at once, posts nothing twice: the
unique key (series, local day) lets one insert of a day win, and the other skips it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from points.recurrence import DEFAULT_HORIZON_DAYS, SeriesStatus
from service.tasks.models import TaskSeries
from service.tasks.series import post_due
from service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationReport:
    series: int  # active series looked at
    posted: int  # occurrences posted by this run


def generate_occurrences(
    uow: UnitOfWork, now: datetime, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> GenerationReport:
    with uow:
        ids = list(
            uow.session.scalars(
                select(TaskSeries.id)
                .where(TaskSeries.status == SeriesStatus.ACTIVE.value)
                .order_by(TaskSeries.id)
            )
        )
    posted = 0
    for series_id in ids:
        # Each series on its own: one that can't be posted (its place gone, a race lost)
        # is logged and tried again next run, and holds back none of the others.
        try:
            with uow:
                session = uow.session
                series = session.get(TaskSeries, series_id, populate_existing=True)
                assert series is not None  # series are never deleted
                posted += len(post_due(session, series, now, horizon_days))
                uow.commit()
        except Exception:
            log.exception("series %d: its occurrences could not be posted", series_id)
    if posted:
        log.info("series: %d occurrence(s) posted for %d series", posted, len(ids))
    return GenerationReport(series=len(ids), posted=posted)
