"""A volunteer's past service, approved and certified: the demo's 志愿服务证明, so the
mini-program team can open a PDF and scan its QR code without walking a task through."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from points.access import Role
from points.calendar import LOCAL_TIME, local_date
from points.rules import Category, TaskType, WorkUnit
from points.tasks import Audience, CheckinMode, ParticipationStatus, TaskStatus
from service.access import load_actor
from service.certificates.issuing import issue_certificate
from service.people.models import User
from service.tasks.approvals import approve_participation
from service.tasks.models import Participation, Task
from service.unit_of_work import UnitOfWork

PAST_TASK = "楼道清洁：清理堆放杂物"
VOLUNTEER, STAFF = "demo-member-1", "demo-staff-1"
HOURS = Decimal("3.00")


def certify_past_service(
    uow: UnitOfWork, community_id: int, point: tuple[float, float], now: datetime
) -> dict[str, Any]:
    """A clean-up four weeks ago that the first member did and staff approved, and his
    certificate for that day; both found, not made again, on a second seed."""
    with uow:
        session = uow.session
        people = {
            u.openid: u
            for u in session.scalars(select(User).where(User.openid.in_([VOLUNTEER, STAFF])))
        }
        volunteer, staff = people[VOLUNTEER], people[STAFF]
        task = session.scalars(
            select(Task).where(Task.place_id == community_id, Task.title == PAST_TASK)
        ).first()
        if task is None:
            day = local_date(now) - timedelta(weeks=4)
            starts = datetime.combine(day, time(9), tzinfo=LOCAL_TIME)
            task = Task(
                place_id=community_id,
                title=PAST_TASK,
                type=TaskType.CLEANUP.value,
                category=Category.ENVIRONMENT.value,
                work_unit=WorkUnit.HOURS.value,
                description="清理楼道堆放的杂物，消除消防隐患。",
                address="幸福小区3栋",
                lat=point[0],
                lng=point[1],
                radius_m=300,
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                capacity=4,
                signed_up_count=1,
                audience=Audience.EVERYONE.value,
                checkin_mode=CheckinMode.BOTH.value,
                status=TaskStatus.CLOSED.value,
                created_by_id=staff.id,
            )
            session.add(task)
            session.flush()
            session.add(
                Participation(
                    task_id=task.id,
                    user_id=volunteer.id,
                    role=Role.MEMBER.value,
                    status=ParticipationStatus.SUBMITTED.value,
                    checked_in_at=starts,
                    checked_out_at=starts + timedelta(hours=3),
                    hours=HOURS,
                    note="清出杂物两车，楼道已畅通",
                    submitted_at=starts + timedelta(hours=3),
                )
            )
        uow.commit()
        participation = session.scalars(
            select(Participation).where(
                Participation.task_id == task.id, Participation.user_id == volunteer.id
            )
        ).one()
        day = local_date(task.starts_at)
    if participation.status == ParticipationStatus.SUBMITTED.value:
        approve_participation(uow, load_actor(session, staff.id), participation.id, now)
    issued = issue_certificate(uow, load_actor(session, volunteer.id), day, day, now)
    certificate = issued.certificate
    return {
        "number": certificate.number,
        "holder_openid": VOLUNTEER,
        "from": certificate.first_day.isoformat(),
        "to": certificate.last_day.isoformat(),
        "total_hours": str(certificate.total_hours),
        "pdf_path": f"/api/v1/certificates/{certificate.number}.pdf",
        "verify_path": f"/api/v1/certificates/{certificate.number}/verify",
    }
