"""The figures of a period, counted in the database: one GROUP BY per topic over the
rows of all the periods asked (people.py, places.py), joined to who and where the
report is about (groups.py). Only aggregate rows come back, however many
participations and transfers there are."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from points.calendar import Span
from service.reports.groups import Groups
from service.reports.people import count_households, count_points, count_work, is_narrow
from service.reports.places import (
    count_demands,
    count_ratings,
    count_tasks,
    count_whistles,
    count_work_ratings,
)
from service.reports.tally import Counted, Periods, Tally


def count(
    session: Session, groups: Groups, spans: Sequence[Span], now: datetime, *, top: int = 0
) -> list[dict[int, Counted]]:
    """Every figure of every group over each span's days, in one pass over the rows of
    all of them (a report and the period it compares with are one scan, not two); a
    group with nothing in a period counts zeros, and a figure the scope has no place
    for (a department's own branches post no tasks) is None. With ``top``, the first
    span's groups name that many of their volunteers, most hours first."""
    periods = Periods(spans)
    tallies = [Tally(groups.keys) for _ in spans]
    narrow = is_narrow(session, groups)
    count_work(session, groups, periods, tallies, top, narrow=narrow)
    count_households(session, groups, periods, tallies)
    count_points(session, groups, periods, tallies, narrow=narrow)
    if groups.places is not None:
        count_tasks(session, groups.places, periods, tallies)
        count_demands(session, groups.places, periods, tallies)
        count_ratings(session, groups.places, periods, tallies)
        count_work_ratings(session, groups.places, periods, tallies)
    if groups.places is not None or groups.departments is not None:
        count_whistles(session, groups, periods, now, tallies)
    return [
        tally.finish(
            has_places=groups.places is not None,
            has_whistles=groups.places is not None or groups.departments is not None,
        )
        for tally in tallies
    ]
