"""The waitlist (候补) of a full task: who waits in line, and how a freed place reaches
the first of them.

A place is a seat counted on the task (``signed_up_count``, held by the states in
``SEAT_HOLDING_STATES``). Whoever leaves a seat hands it on in the same transaction:
the first in line is offered it (the seat stays counted, now held by the offer), or,
with nobody waiting, the count goes down. So the count never rises except by
``_take_seat``'s conditional UPDATE, and confirming an offer takes no seat at all: no
number of cancellations and confirmations at once can put more people on a task than
its capacity. Lapsed offers are handed on by ``let_offers_lapse`` (the worker's sweep).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from points.lifecycle import transition
from points.notices import Topic
from points.tasks import (
    PARTICIPATION_TRANSITIONS,
    ParticipationAction,
    ParticipationStatus,
    TaskStatus,
    offer_expires_at,
)
from service.db import rows_changed
from service.lifecycle import move_status
from service.notices import tell
from service.tasks.models import Participation, Task
from service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Enough candidates that racing hand-overs (each skips those another took a moment
# ago) rarely need a second look; the loop looks again if they do.
_CANDIDATES = 8


def pass_seat_on(session: Session, task: Task, now: datetime) -> Participation | None:
    """Hand the seat its holder just left to the first in line, or give it back to the
    task when nobody waits (or the task has started: an offer then is no use). The one
    offered, if any."""
    offered = _offer_to_first(session, task, now) if now < task.starts_at else None
    if offered is None:
        session.execute(
            update(Task)
            .where(Task.id == task.id, Task.signed_up_count > 0)
            .values(signed_up_count=Task.signed_up_count - 1)
            .execution_options(synchronize_session=False)
        )
    return offered


def offer_free_seats(session: Session, task: Task, now: datetime, seats: int) -> int:
    """After a task's capacity grew: up to ``seats`` new places go to the first in line,
    each taken by the same conditional UPDATE as a sign-up, before anyone who signs up
    later. How many were offered."""
    offered = 0
    if now >= task.starts_at or task.status != TaskStatus.PUBLISHED.value:
        return offered
    for _ in range(seats):
        taken = rows_changed(
            session.execute(
                update(Task)
                .where(Task.id == task.id, Task.signed_up_count < Task.capacity)
                .values(signed_up_count=Task.signed_up_count + 1)
                .execution_options(synchronize_session=False)
            )
        )
        if taken != 1:
            break
        if _offer_to_first(session, task, now) is None:
            pass_seat_on(session, task, now)  # nobody waits: the seat goes back
            break
        offered += 1
    return offered


def _offer_to_first(session: Session, task: Task, now: datetime) -> Participation | None:
    target = transition(
        PARTICIPATION_TRANSITIONS, ParticipationStatus.WAITLISTED, ParticipationAction.OFFER
    )
    expires_at = offer_expires_at(now, task.starts_at)
    passed: set[int] = set()
    while True:
        # In line by sign-up time, then id. Each move re-checks the status in its WHERE:
        # another hand-over that took a candidate a moment ago makes this one skip it.
        query = (
            select(Participation)
            .where(
                Participation.task_id == task.id,
                Participation.status == ParticipationStatus.WAITLISTED.value,
            )
            .order_by(Participation.signed_up_at, Participation.id)
            .limit(_CANDIDATES + len(passed))
        )
        candidates = [p for p in session.scalars(query) if p.id not in passed]
        if not candidates:
            return None
        for candidate in candidates:
            moved = move_status(
                session,
                Participation,
                candidate.id,
                ParticipationStatus.WAITLISTED,
                target,
                offer_expires_at=expires_at,
            )
            if moved:
                session.refresh(candidate)
                _tell_offered(session, task, candidate)
                return candidate
            passed.add(candidate.id)


def _tell_offered(session: Session, task: Task, participation: Participation) -> None:
    assert participation.offer_expires_at is not None
    facts: dict[str, str | int] = {
        "task_id": task.id,
        "task_title": task.title,
        "participation_id": participation.id,
        "expires_at": participation.offer_expires_at.isoformat(),
    }
    # Once per offer: a second offer of the same part (after a lapse it can't come back,
    # but a new sign-up can) carries its own deadline.
    source = f"offer:participation:{participation.id}:{participation.offer_expires_at.isoformat()}"
    tell(session, Topic.PLACE_OFFERED, [participation.user_id], facts, source=source)


@dataclass(frozen=True)
class LapseReport:
    lapsed: int  # offers that ran out unconfirmed
    offered: int  # of their seats, how many went on to the next in line
    closed: int = 0  # places in line of tasks that started: no offer can come now


def let_offers_lapse(uow: UnitOfWork, now: datetime, batch: int = 100) -> LapseReport:
    """End the offers that ran out by ``now`` and hand each one's seat on. Each offer in
    its own transaction, so one that a confirmation beat is skipped, not the batch;
    running it again finds nothing twice."""
    target = transition(
        PARTICIPATION_TRANSITIONS, ParticipationStatus.OFFERED, ParticipationAction.LET_LAPSE
    )
    with uow:
        due = list(
            uow.session.execute(
                select(Participation.id, Participation.task_id)
                .where(
                    Participation.status == ParticipationStatus.OFFERED.value,
                    Participation.offer_expires_at <= now,
                )
                .order_by(Participation.offer_expires_at, Participation.id)
                .limit(batch)
            )
        )
    lapsed = offered = 0
    for participation_id, task_id in due:
        with uow:
            session = uow.session
            if not move_status(
                session,
                Participation,
                participation_id,
                ParticipationStatus.OFFERED,
                target,
                offer_expires_at=None,
            ):
                continue  # confirmed or declined a moment ago
            task = session.get(Task, task_id)
            assert task is not None
            lapsed += 1
            offered += pass_seat_on(session, task, now) is not None
            uow.commit()
    closed = _close_started_lines(uow, now, batch)
    if lapsed or closed:
        log.info(
            "waitlist: %d offer(s) lapsed, %d passed on, %d place(s) in line closed",
            lapsed,
            offered,
            closed,
        )
    return LapseReport(lapsed=lapsed, offered=offered, closed=closed)


def _close_started_lines(uow: UnitOfWork, now: datetime, batch: int) -> int:
    """Once a task has started nobody is offered its places (``pass_seat_on``), so
    whoever still waits in its line is told so by their place closing, instead of
    waiting for ever. The status is in the UPDATE's WHERE: a place offered or left a
    moment ago stays as it is."""
    target = transition(
        PARTICIPATION_TRANSITIONS, ParticipationStatus.WAITLISTED, ParticipationAction.CLOSE_LINE
    )
    with uow:
        session = uow.session
        waiting = session.scalars(
            select(Participation.id)
            .join(Task, Task.id == Participation.task_id)
            .where(
                Participation.status == ParticipationStatus.WAITLISTED.value,
                Task.starts_at <= now,
            )
            .order_by(Participation.id)
            .limit(batch)
        ).all()
        if not waiting:
            return 0
        closed = rows_changed(
            session.execute(
                update(Participation)
                .where(
                    Participation.id.in_(waiting),
                    Participation.status == ParticipationStatus.WAITLISTED.value,
                )
                .values(status=target.value)
                .execution_options(synchronize_session=False)
            )
        )
        uow.commit()
        return closed
