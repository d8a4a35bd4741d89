"""Reminders nobody's action causes, found by a sweep (the worker runs it every minute;
``lianxin notifications remind`` once): a task starting within the hour, a pickup
expiring within a day, 幸福币 expiring within 30 days, a whistle's 报到 deadline near
or passed.

Each reminder's source names what it is about (the sign-up, the hold, the member's
batch of lots expiring one day, the whistle), and the inbox keeps one notification
per member and source, so sweeps that overlap, on as many workers as run, remind once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.access import Role, ScopeType
from points.calendar import local_date
from points.currency import Currency
from points.notices import Topic
from points.redemption import RedemptionStatus
from points.tasks import ParticipationStatus, TaskStatus
from service.demands.models import DemandWhistle
from service.ledger.models import LedgerAccount, PointLot
from service.notifications.counters import UnreadCounts
from service.notifications.inbox import Told, write_notifications
from service.notifications.models import Notification
from service.notifications.templates import Templates
from service.people.models import RoleGrant
from service.stations.models import Redemption
from service.tasks.models import Participation, Task
from service.unit_of_work import UnitOfWork

TASK_AHEAD = timedelta(hours=1)
PICKUP_AHEAD = timedelta(days=1)
POINTS_AHEAD = timedelta(days=30)
WHISTLE_AHEAD = timedelta(hours=4)


@dataclass(frozen=True)
class RemindReport:
    told: int  # notifications newly written


def remind(
    uow: UnitOfWork, templates: Templates, counts: UnreadCounts, now: datetime
) -> RemindReport:
    """Write every reminder due ``now`` that is not written yet, in one transaction."""
    with uow:
        session = uow.session
        candidates = [
            *_tasks_starting(session, now),
            *_pickups_expiring(session, now),
            *_points_expiring(session, now),
            *_whistles(session, now),
        ]
        told = _not_told_yet(session, candidates)
        written = write_notifications(session, told, templates, now) if told else []
        uow.commit()
    counts.changed(written)
    return RemindReport(len(written))


def _not_told_yet(session: Session, candidates: list[Told]) -> list[Told]:
    """Skip what an earlier sweep wrote (the unique index would, at more cost); two
    sweeps at once still both get here, and the index keeps one."""
    sources = sorted({one.source for one in candidates})
    told: set[tuple[int, str]] = set()
    for start in range(0, len(sources), 500):
        told.update(
            (user_id, source)
            for user_id, source in session.execute(
                select(Notification.user_id, Notification.source).where(
                    Notification.source.in_(sources[start : start + 500])
                )
            )
        )
    return [one for one in candidates if (one.user_id, one.source) not in told]


def _tasks_starting(session: Session, now: datetime) -> Iterable[Told]:
    rows = session.execute(
        select(
            Participation.id,
            Participation.user_id,
            Task.id,
            Task.title,
            Task.starts_at,
            Task.address,
        )
        .join(Task, Task.id == Participation.task_id)
        .where(
            Task.status == TaskStatus.PUBLISHED.value,
            Task.starts_at > now,
            Task.starts_at <= now + TASK_AHEAD,
            Participation.status == ParticipationStatus.SIGNED_UP.value,
        )
    ).all()
    for participation_id, user_id, task_id, title, starts_at, address in rows:
        facts: dict[str, str | int] = {
            "task_id": task_id,
            "participation_id": participation_id,
            "task_title": title,
            "starts_at": starts_at.isoformat(),
            "address": address,
        }
        yield Told(
            user_id, Topic.TASK_STARTING, f"starting:participation:{participation_id}", facts
        )


def _pickups_expiring(session: Session, now: datetime) -> Iterable[Told]:
    rows = session.scalars(
        select(Redemption).where(
            Redemption.status == RedemptionStatus.HELD.value,
            Redemption.expires_at > now,
            Redemption.expires_at <= now + PICKUP_AHEAD,
        )
    ).all()
    for redemption in rows:
        facts: dict[str, str | int] = {
            "redemption_id": redemption.id,
            "item_name": redemption.item_name,
            "quantity": redemption.quantity,
            "pickup_code": redemption.pickup_code,
            "expires_at": redemption.expires_at.isoformat(),
        }
        yield Told(
            redemption.user_id,
            Topic.REDEMPTION_EXPIRING,
            f"expiring:redemption:{redemption.id}",
            facts,
        )


def _points_expiring(session: Session, now: datetime) -> Iterable[Told]:
    """One reminder per member and local day their lots expire (a batch of lots)."""
    rows = session.execute(
        select(LedgerAccount.user_id, PointLot.expires_at, PointLot.remaining)
        .join(LedgerAccount, LedgerAccount.id == PointLot.account_id)
        .where(
            LedgerAccount.user_id.is_not(None),
            LedgerAccount.currency == Currency.XINGFUBI.value,
            PointLot.remaining > 0,
            PointLot.expires_at > now,
            PointLot.expires_at <= now + POINTS_AHEAD,
        )
    ).all()
    batches: dict[tuple[int, str], tuple[int, datetime]] = {}
    for owner, expires_at, remaining in rows:
        assert owner is not None  # the WHERE says so
        day = local_date(expires_at).isoformat()
        amount, first = batches.get((owner, day), (0, expires_at))
        batches[(owner, day)] = (amount + remaining, min(first, expires_at))
    for (user_id, day), (amount, first) in sorted(batches.items()):
        facts: dict[str, str | int] = {"amount": amount, "expires_at": first.isoformat()}
        yield Told(user_id, Topic.POINTS_EXPIRING, f"expiring:xingfubi:{day}", facts)


def _whistles(session: Session, now: datetime) -> Iterable[Told]:
    open_whistles = session.execute(
        select(
            DemandWhistle.id,
            DemandWhistle.demand_id,
            DemandWhistle.department_id,
            DemandWhistle.acknowledge_due_at,
        ).where(
            DemandWhistle.acknowledged_at.is_(None),
            DemandWhistle.outcome.is_(None),
            DemandWhistle.acknowledge_due_at <= now + WHISTLE_AHEAD,
        )
    ).all()
    if not open_whistles:
        return
    departments = {department_id for _, _, department_id, _ in open_whistles}
    officers: dict[int, list[int]] = {}
    for user_id, department_id in session.execute(
        select(RoleGrant.user_id, RoleGrant.scope_id).where(
            RoleGrant.role == Role.DEPT_OFFICER.value,
            RoleGrant.scope_type == ScopeType.DEPARTMENT.value,
            RoleGrant.scope_id.in_(departments),
        )
    ):
        officers.setdefault(department_id, []).append(user_id)
    for whistle_id, demand_id, department_id, due_at in open_whistles:
        overdue = due_at <= now
        topic = Topic.WHISTLE_OVERDUE if overdue else Topic.WHISTLE_DUE_SOON
        facts: dict[str, str | int] = {"demand_id": demand_id, "due_at": due_at.isoformat()}
        source = f"{'overdue' if overdue else 'due_soon'}:whistle:{whistle_id}"
        for user_id in officers.get(department_id, []):
            yield Told(user_id, topic, source, facts)
