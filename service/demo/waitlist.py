"""The demo's full task (候补): a small 义诊 help desk whose places are all taken, with
two more people waiting in line — signed up and queued by the real use cases, once,
so the waitlist, its order and the offers a cancellation makes have something to show."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from points.calendar import LOCAL_TIME, local_date
from points.rules import Category, TaskType, WorkUnit
from points.tasks import Audience, CheckinMode, ParticipationStatus, TaskStatus
from service.access import load_actor
from service.people.models import User
from service.tasks.models import Participation, Task
from service.tasks.signups import sign_up
from service.unit_of_work import UnitOfWork

FULL_TASK = "社区义诊：引导老人排队测血压"
SEATED = ("demo-member-1", "demo-volunteer-1")  # its two places, taken
WAITING = ("demo-member-3", "demo-volunteer-2")  # in line, in this order


def fill_a_task_with_a_waitlist(
    uow: UnitOfWork, community_id: int, staff_id: int, point: tuple[float, float], now: datetime
) -> dict[str, Any]:
    session = uow.session
    task = session.scalars(
        select(Task).where(Task.place_id == community_id, Task.title == FULL_TASK)
    ).first()
    if task is None:
        # The day after tomorrow: after the demo's other tasks, so a cancellation there
        # leaves time for an offer to be confirmed.
        starts = datetime.combine(local_date(now) + timedelta(days=2), time(9), tzinfo=LOCAL_TIME)
        with uow:
            task = Task(
                place_id=community_id,
                title=FULL_TASK,
                type=TaskType.NEIGHBOUR_HELP.value,
                category=Category.SERVICE.value,
                work_unit=WorkUnit.HOURS.value,
                description="义诊现场需要两位志愿者引导老人排队、登记。名额已满可候补。",
                address="社区党群服务中心一楼大厅",
                lat=point[0],
                lng=point[1],
                radius_m=300,
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                capacity=len(SEATED),
                audience=Audience.EVERYONE.value,
                checkin_mode=CheckinMode.BOTH.value,
                status=TaskStatus.PUBLISHED.value,
                created_by_id=staff_id,
            )
            session.add(task)
            uow.commit()
        people = {
            u.openid: u.id
            for u in session.scalars(select(User).where(User.openid.in_(SEATED + WAITING)))
        }
        for minutes, openid in enumerate(SEATED + WAITING):
            at = now - timedelta(hours=1) + timedelta(minutes=minutes)
            sign_up(uow, load_actor(session, people[openid]), task.id, at, waitlist=True)
    line = session.scalars(
        select(Participation)
        .where(Participation.task_id == task.id)
        .order_by(Participation.signed_up_at, Participation.id)
    ).all()
    by_id = {u.id: u.openid for u in session.scalars(select(User))}
    return {
        "id": task.id,
        "org_id": task.place_id,
        "title": task.title,
        "capacity": task.capacity,
        "signed_up_openids": [
            by_id[p.user_id] for p in line if p.status == ParticipationStatus.SIGNED_UP.value
        ],
        "waitlist_openids": [
            by_id[p.user_id] for p in line if p.status == ParticipationStatus.WAITLISTED.value
        ],
    }
