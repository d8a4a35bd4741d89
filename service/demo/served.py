"""A season of Saturdays served: two members who did real, approved work week after
week, one in each community, so the demo shows a member at 一星 and one at 二星 (and the
badges their work earned) without faking a number."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from points.access import Role
from points.achievements import Level
from points.calendar import LOCAL_TIME, local_date, week_start
from points.rules import Category, TaskType, WorkUnit
from points.tasks import Audience, CheckinMode, ParticipationStatus, TaskStatus
from service.access import load_actor
from service.achievements.standing import achievements_of
from service.people.models import User
from service.tasks.approvals import approve_many
from service.tasks.models import Participation, Task
from service.unit_of_work import UnitOfWork

# (member, the staff who approve their work, Saturdays served): 8 hours each, so
# 刘伟 has 320 hours (二星 by the default ladder) and 孙国庆 112 (一星).
SERVERS = (("demo-member-3", "demo-staff-1", 40), ("demo-member-4", "demo-staff-2", 14))
DAY_HOURS = Decimal("8.00")
# The Saturdays go round three kinds of work: the badges count door-knocks and deliveries.
ROUND = (
    (TaskType.DOOR_KNOCK, Category.SERVICE, "周六敲门行动：独居老人探访"),
    (TaskType.ELDER_DELIVERY, Category.SERVICE, "周六送菜上门：高龄老人配送"),
    (TaskType.PATROL, Category.SAFETY, "周六平安巡逻：小区治安巡查"),
)
_FIRST_WEEKS_AGO = 6  # the last Saturday served: six weeks back, all of it long approved


def serve_saturdays(
    uow: UnitOfWork,
    community_ids: Sequence[int],
    points: Sequence[tuple[float, float]],
    levels: Sequence[Level],
    now: datetime,
) -> list[dict[str, Any]]:
    """Each server's Saturdays, handed in and approved by their community's staff; found,
    not made again, on a second seed (each Saturday is numbered in its title)."""
    served = []
    for (openid, staff_openid, saturdays), community_id, point in zip(
        SERVERS, community_ids, points, strict=True
    ):
        with uow:
            session = uow.session
            member = session.scalars(select(User).where(User.openid == openid)).one()
            staff = session.scalars(select(User).where(User.openid == staff_openid)).one()
            waiting: list[int] = []
            last_saturday = week_start(local_date(now)) - timedelta(weeks=_FIRST_WEEKS_AGO, days=2)
            for number in range(1, saturdays + 1):
                kind, category, title = ROUND[number % len(ROUND)]
                title = f"{title}（第{number}期）"
                task = session.scalars(
                    select(Task).where(Task.place_id == community_id, Task.title == title)
                ).first()
                if task is not None:
                    # Made by a seed that stopped before approving it: approved now.
                    waiting += session.scalars(
                        select(Participation.id).where(
                            Participation.task_id == task.id,
                            Participation.user_id == member.id,
                            Participation.status == ParticipationStatus.SUBMITTED.value,
                        )
                    ).all()
                    continue
                day = last_saturday - timedelta(weeks=saturdays - number)
                starts = datetime.combine(day, time(9), tzinfo=LOCAL_TIME)
                ends = starts + timedelta(hours=int(DAY_HOURS))
                task = Task(
                    place_id=community_id,
                    title=title,
                    type=kind.value,
                    category=category.value,
                    work_unit=WorkUnit.HOURS.value,
                    description="每周六的社区志愿服务日。",
                    address="社区党群服务中心",
                    lat=point[0],
                    lng=point[1],
                    radius_m=300,
                    starts_at=starts,
                    ends_at=ends,
                    capacity=6,
                    signed_up_count=1,
                    audience=Audience.EVERYONE.value,
                    checkin_mode=CheckinMode.BOTH.value,
                    status=TaskStatus.CLOSED.value,
                    created_by_id=staff.id,
                )
                session.add(task)
                session.flush()
                participation = Participation(
                    task_id=task.id,
                    user_id=member.id,
                    role=Role.MEMBER.value,
                    status=ParticipationStatus.SUBMITTED.value,
                    checked_in_at=starts,
                    checked_out_at=ends,
                    hours=DAY_HOURS,
                    note="已完成",
                    submitted_at=ends,
                )
                session.add(participation)
                session.flush()
                waiting.append(participation.id)
            uow.commit()
        # Each approval its own transaction, crediting by the rules in force, as staff do.
        approve_many(uow, load_actor(session, staff.id), waiting, now)
        mine = achievements_of(session, member.id, levels, local_date(now))
        standing = mine.standing
        served.append(
            {
                "openid": openid,
                "name": member.name,
                "hours": str(standing.hours),
                "level": standing.level.name if standing.level else None,
                "badges": [badge.rule.code.value for badge in mine.earned],
            }
        )
    return served
