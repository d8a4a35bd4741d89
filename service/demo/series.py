"""The demo's recurring task: each community's weekly evening patrol (周二、周四夜间巡逻),
its occurrences for the next two weeks posted, and a party member signed up for the
whole series (so they are on each occurrence as it is posted)."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.calendar import local_date
from points.recurrence import DEFAULT_HORIZON_DAYS, Frequency, SeriesStatus
from points.rules import Category, TaskType, WorkUnit
from points.tasks import Audience, CheckinMode
from service.tasks.models import SeriesSignup, TaskSeries
from service.tasks.series import post_due

PATROL_TITLE = "周二周四夜间安全巡逻"


def demo_patrol_series(
    session: Session,
    community_id: int,
    staff_id: int,
    member_id: int,
    point: tuple[float, float],
    now: datetime,
) -> TaskSeries:
    series = session.scalars(
        select(TaskSeries).where(
            TaskSeries.place_id == community_id, TaskSeries.title == PATROL_TITLE
        )
    ).first()
    if series is None:
        series = TaskSeries(
            place_id=community_id,
            title=PATROL_TITLE,
            description="沿小区主干道和楼栋间巡查，留意消防通道和陌生人员。请按时签到。",
            category=Category.SAFETY.value,
            type=TaskType.PATROL.value,
            address="社区党群服务中心门口集合",
            lat=point[0],
            lng=point[1],
            radius_m=500,
            capacity=6,
            audience=Audience.EVERYONE.value,
            checkin_mode=CheckinMode.BOTH.value,
            work_unit=WorkUnit.HOURS.value,
            frequency=Frequency.WEEKLY.value,
            weekdays=[1, 3],
            first_date=local_date(now),
            start_time=time(19, 30),
            duration_minutes=90,
            status=SeriesStatus.ACTIVE.value,
            created_by_id=staff_id,
        )
        session.add(series)
        session.flush()
        session.add(SeriesSignup(series_id=series.id, user_id=member_id, joined_at=now))
        session.flush()
    # Seeding again posts only the days that have come within the horizon since.
    post_due(session, series, now, DEFAULT_HORIZON_DAYS)
    return series
