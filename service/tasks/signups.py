"""Signing up for a task (报名) — or, when it is full, for its waitlist (候补) —
confirming a place offered from the waitlist, and cancelling before it starts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from points.access import Actor, serving_role
from points.errors import Conflict, NotFound
from points.lifecycle import transition
from points.tasks import (
    PARTICIPATION_TRANSITIONS,
    Audience,
    ParticipationAction,
    ParticipationStatus,
    TaskStatus,
    check_audience,
    check_cancellable,
    check_offer_open,
)
from service.db import rows_changed
from service.lifecycle import move_status
from service.places.tree import named_place
from service.tasks.board import get_task
from service.tasks.models import Participation, Task
from service.tasks.no_show_policies import check_no_shows
from service.tasks.waitlist import pass_seat_on
from service.unit_of_work import UnitOfWork


class TaskFull(Conflict):
    code = "task_full"


class AlreadySignedUp(Conflict):
    code = "already_signed_up"


class NotOpen(Conflict):
    code = "task_not_open"


class ParticipationChanged(Conflict):
    code = "participation_changed"


def _take_seat(session: Session, task: Task) -> bool:
    """Whether a seat was free and is now taken: by the UPDATE's WHERE, never by
    reading the count first."""
    taken = rows_changed(
        session.execute(
            update(Task)
            .where(
                Task.id == task.id,
                Task.status == TaskStatus.PUBLISHED.value,
                Task.signed_up_count < Task.capacity,
            )
            .values(signed_up_count=Task.signed_up_count + 1)
            .execution_options(synchronize_session=False)
        )
    )
    return taken == 1


def sign_up(
    uow: UnitOfWork, actor: Actor, task_id: int, now: datetime, *, waitlist: bool = False
) -> Participation:
    """A seat while one is free; on a full task, 409 ``task_full``, or with ``waitlist``
    a place at the back of its waitlist (the mini-program asks first: a member told
    "you're in" must be in)."""
    with uow:
        session = uow.session
        participation = enrol(session, actor, get_task(session, actor, task_id, now), now, waitlist)
        uow.commit()
        return participation


def enrol(
    session: Session, actor: Actor, task: Task, now: datetime, waitlist: bool
) -> Participation:
    """``sign_up`` in the caller's transaction, for a task the actor may see: a series
    sign-up enrols its member in each occurrence by these same rules."""
    if task.status != TaskStatus.PUBLISHED.value or now >= task.ends_at:
        raise NotOpen("this task is not open for sign-up")
    check_audience(Audience(task.audience), actor.roles)
    earlier = session.scalars(
        select(Participation).where(
            Participation.task_id == task.id, Participation.user_id == actor.user_id
        )
    ).one_or_none()
    if earlier is not None and earlier.status != ParticipationStatus.CANCELLED.value:
        raise AlreadySignedUp("you are already signed up for this task")
    # Too many no-shows lately keep one from taking places, in line included.
    check_no_shows(session, actor.user_id, named_place(session, task.place_id).path, now)
    try:
        with session.begin_nested():
            if earlier is None:
                participation = Participation(
                    task_id=task.id,
                    user_id=actor.user_id,
                    role=serving_role(actor.roles).value,
                    signed_up_at=now,
                )
                session.add(participation)
                session.flush()  # claims the (task, person) key before the seat
            else:
                participation = earlier
            # A full task puts them at the back of its waitlist (signed_up_at is
            # their place in line); a place freed later is offered in that order.
            seated = _take_seat(session, task)
            if not seated and not waitlist:
                raise TaskFull("every place on this task is taken; join its waitlist")
            status = ParticipationStatus.SIGNED_UP if seated else ParticipationStatus.WAITLISTED
            if earlier is None:
                participation.status = status.value
                session.flush()
            else:
                # Back from cancelled only if nobody moved it meanwhile (the same person
                # twice at once, or a 补录): the loser's seat goes back with the savepoint.
                values = {"signed_up_at": now, "offer_expires_at": None}
                if not move_status(
                    session,
                    Participation,
                    earlier.id,
                    ParticipationStatus.CANCELLED,
                    status,
                    **values,
                ):
                    raise AlreadySignedUp("you are already signed up for this task")
                for name, value in {**values, "status": status.value}.items():
                    set_committed_value(participation, name, value)
    except IntegrityError:
        raise AlreadySignedUp("you are already signed up for this task") from None
    return participation


# Built once (every attendance step runs it): building costs more than the query.
_OWN_WITH_TASK = (
    select(Participation, Task)
    .join(Task, Task.id == Participation.task_id)
    .where(
        Participation.id == bindparam("participation_id"),
        Participation.user_id == bindparam("user_id"),
    )
)


def own_participation_and_task(
    session: Session, actor: Actor, participation_id: int
) -> tuple[Participation, Task]:
    """One's own participation and its task, in one query: every step of attendance
    needs both."""
    row = session.execute(
        _OWN_WITH_TASK, {"participation_id": participation_id, "user_id": actor.user_id}
    ).first()
    if row is None:
        raise NotFound("participation not found")
    return row[0], row[1]


def move_participation(
    session: Session,
    participation: Participation,
    current: ParticipationStatus,
    target: ParticipationStatus,
    **values: object,
) -> None:
    """Move from ``current`` to ``target`` only if nobody moved it meanwhile (the status
    is in the UPDATE's WHERE), setting ``values`` with it."""
    values = move_participation_by_id(session, participation.id, current, target, **values)
    # The loaded participation takes the new values as the database's: no reload after
    # commit, so the answer costs no second round trip.
    for name, value in values.items():
        set_committed_value(participation, name, value)


def move_participation_by_id(
    session: Session,
    participation_id: int,
    current: ParticipationStatus,
    target: ParticipationStatus,
    **values: object,
) -> dict[str, object]:
    """``move_participation`` for a participation read as columns; gives back the values
    set, status included."""
    if not move_status(session, Participation, participation_id, current, target, **values):
        raise ParticipationChanged("this participation changed a moment ago; reload it")
    values["status"] = target.value
    return values


def cancel_sign_up(
    uow: UnitOfWork, actor: Actor, participation_id: int, now: datetime
) -> Participation:
    """Withdraw a sign-up, a place on the waitlist or an offered place (declining it)."""
    with uow:
        session = uow.session
        participation, task = own_participation_and_task(session, actor, participation_id)
        withdraw(session, participation, task, now)
        uow.commit()
        return participation


def withdraw(session: Session, participation: Participation, task: Task, now: datetime) -> None:
    """Cancel one's own part in the caller's transaction; a seat it held is handed on."""
    current = ParticipationStatus(participation.status)
    target = transition(PARTICIPATION_TRANSITIONS, current, ParticipationAction.CANCEL)
    check_cancellable(now, task.starts_at)
    move_participation(session, participation, current, target, offer_expires_at=None)
    if current is not ParticipationStatus.WAITLISTED:  # it held a seat: hand it on
        pass_seat_on(session, task, now)


def confirm_offer(
    uow: UnitOfWork, actor: Actor, participation_id: int, now: datetime
) -> Participation:
    """Take the place the waitlist offered. The seat is already held by the offer, so
    this takes none: it only has to beat the offer's lapse (both move it from offered)."""
    with uow:
        session = uow.session
        participation, _ = own_participation_and_task(session, actor, participation_id)
        current = ParticipationStatus(participation.status)
        target = transition(PARTICIPATION_TRANSITIONS, current, ParticipationAction.CONFIRM)
        assert participation.offer_expires_at is not None  # every offer has its deadline
        check_offer_open(now, participation.offer_expires_at)
        move_participation(session, participation, current, target, offer_expires_at=None)
        uow.commit()
        return participation


def my_participations(
    session: Session, actor: Actor, limit: int, before_id: int | None
) -> list[Participation]:
    query = (
        select(Participation)
        .where(Participation.user_id == actor.user_id)
        .order_by(Participation.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Participation.id < before_id)
    return list(session.scalars(query))
