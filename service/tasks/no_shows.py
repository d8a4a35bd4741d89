"""No-shows (爽约): the sweep that marks a sign-up never checked in once its task has
ended, staff excusing one with a reason, and a member's own record.

No points move here, ever: a no-show only keeps its holder from taking places while the
policy (service/tasks/no_show_policies.py) says they hold too many.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.access import Action, Actor, SelfApproval, Target, require
from points.errors import NotFound
from points.lifecycle import transition
from points.no_shows import DEFAULT_POLICY, blocked_until
from points.notices import Topic
from points.tasks import (
    PARTICIPATION_TRANSITIONS,
    ParticipationAction,
    ParticipationStatus,
    TaskStatus,
    no_show_due,
)
from service.audit.log import record
from service.lifecycle import move_status
from service.notices import tell
from service.people.models import User
from service.places.models import Place
from service.places.tree import named_place
from service.tasks.models import Participation, Task
from service.tasks.no_show_policies import PlacePolicy, policy_at
from service.tasks.signups import move_participation
from service.tasks.waitlist import pass_seat_on
from service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def mark_no_shows(uow: UnitOfWork, now: datetime, batch: int = 500) -> int:
    """Mark no-show every sign-up of a task that ended by ``now`` without a check-in,
    each in its own transaction with its seat given back and the member told. The move
    is a conditional UPDATE: two sweeps at once mark each one once, and running it again
    marks nothing twice. How many were marked."""
    target = transition(
        PARTICIPATION_TRANSITIONS, ParticipationStatus.SIGNED_UP, ParticipationAction.MARK_NO_SHOW
    )
    with uow:
        due = list(
            uow.session.execute(
                select(Participation.id, Participation.user_id, Task.id)
                .join(Task, Task.id == Participation.task_id)
                .where(
                    Participation.status == ParticipationStatus.SIGNED_UP.value,
                    Task.ends_at <= now,
                    # A cancelled task closed its sign-ups itself; nobody failed it.
                    Task.status != TaskStatus.CANCELLED.value,
                )
                .order_by(Task.ends_at, Participation.id)
                .limit(batch)
            )
        )
    marked = 0
    for participation_id, user_id, task_id in due:
        with uow:
            session = uow.session
            task = session.get(Task, task_id)
            if task is None or not no_show_due(now, task.ends_at):
                continue  # its end was moved later a moment ago
            # The moment it became one is the task's end, whenever the sweep came by:
            # the policy's window rolls from there.
            if not move_status(
                session,
                Participation,
                participation_id,
                ParticipationStatus.SIGNED_UP,
                target,
                no_show_at=task.ends_at,
            ):
                continue  # checked in (or marked by another sweep) a moment ago
            pass_seat_on(session, task, now)  # the task is over: the seat just goes back
            tell(
                session,
                Topic.NO_SHOW,
                [user_id],
                {
                    "participation_id": participation_id,
                    "task_id": task.id,
                    "task_title": task.title,
                    "ended_at": task.ends_at.isoformat(),
                },
                source=f"no_show:participation:{participation_id}",
            )
            uow.commit()
            marked += 1
    if marked:
        log.info("no-shows: %d sign-up(s) marked", marked)
    return marked


def excuse_no_show(
    uow: UnitOfWork, actor: Actor, participation_id: int, reason: str, now: datetime
) -> Participation:
    """Staff of the task's place accept a reason for a no-show: it stays on the record,
    excused, and no longer counts. Nobody excuses their own."""
    with uow:
        session = uow.session
        row = session.execute(
            select(Participation, Task.place_id, Place.path)
            .join(Task, Task.id == Participation.task_id)
            .join(Place, Place.id == Task.place_id)
            .where(Participation.id == participation_id)
        ).first()
        if row is None:
            raise NotFound("participation not found")
        participation, place_id, path = row
        require(actor, Action.MANAGE_TASKS, Target(place_path=path), what="participation")
        if participation.user_id == actor.user_id:
            raise SelfApproval("nobody excuses their own no-show")
        current = ParticipationStatus(participation.status)
        target = transition(PARTICIPATION_TRANSITIONS, current, ParticipationAction.EXCUSE)
        move_participation(
            session,
            participation,
            current,
            target,
            excused_by_id=actor.user_id,
            excused_at=now,
            excuse_reason=reason,
        )
        record(
            session,
            actor_id=actor.user_id,
            action="participation.excuse",
            object_type="participation",
            object_id=participation.id,
            before={"status": current.value},
            after={
                "status": target.value,
                "user_id": participation.user_id,
                "task_id": participation.task_id,
                "reason": reason,
            },
            place_id=place_id,
        )
        uow.commit()
        return participation


@dataclass(frozen=True)
class NoShowEntry:
    participation_id: int
    task_id: int
    task_title: str
    no_show_at: datetime
    excused: bool
    excuse_reason: str | None


@dataclass(frozen=True)
class NoShowRecord:
    items: list[NoShowEntry]
    policy: PlacePolicy
    clears_at: datetime | None  # None: sign-up is open

    @property
    def blocked(self) -> bool:
        return self.clears_at is not None


def my_no_shows(
    session: Session, actor: Actor, now: datetime, place_id: int | None = None
) -> NoShowRecord:
    """One's no-shows within the window of the policy at ``place_id`` (by default where
    one lives), excused ones too, newest first, and whether and until when they block
    sign-up there."""
    path: str | None
    if place_id is not None:
        path = named_place(session, place_id).path
    else:
        path = session.scalar(
            select(Place.path)
            .join(User, User.residence_place_id == Place.id)
            .where(User.id == actor.user_id)
        )
    applying = policy_at(session, path) if path else PlacePolicy(DEFAULT_POLICY, None, None)
    rows = session.execute(
        select(Participation, Task.title)
        .join(Task, Task.id == Participation.task_id)
        .where(
            Participation.user_id == actor.user_id,
            Participation.status.in_(
                [ParticipationStatus.NO_SHOW.value, ParticipationStatus.EXCUSED.value]
            ),
            Participation.no_show_at > applying.policy.counts_from(now),
        )
        .order_by(Participation.no_show_at.desc(), Participation.id.desc())
    )
    items = []
    for participation, title in rows:
        assert participation.no_show_at is not None
        items.append(
            NoShowEntry(
                participation.id,
                participation.task_id,
                title,
                participation.no_show_at,
                participation.status == ParticipationStatus.EXCUSED.value,
                participation.excuse_reason,
            )
        )
    counted = [entry.no_show_at for entry in items if not entry.excused]
    return NoShowRecord(items, applying, blocked_until(applying.policy, counted, now))
