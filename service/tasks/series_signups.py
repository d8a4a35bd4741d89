"""Signing up for a whole series (报名整个系列), and leaving it.

Joining enrols the member in every occurrence already posted that has not started (a
full one: its waitlist), and the generator enrols them in each one posted later
(service/tasks/series_members.py). Leaving cancels their part in every occurrence to
come, by the same step as withdrawing from one; parts in occurrences under way or done
stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Actor
from points.errors import Conflict, NotFound
from points.lifecycle import transition
from points.recurrence import (
    SERIES_SIGNUP_TRANSITIONS,
    SeriesEnded,
    SeriesSignupAction,
    SeriesSignupStatus,
    SeriesStatus,
)
from points.tasks import Audience, ParticipationStatus, TaskStatus, check_audience
from service.lifecycle import move_status
from service.tasks.models import Participation, SeriesSignup, Task, TaskSeries
from service.tasks.series import visible_series
from service.tasks.series_members import SKIPPED
from service.tasks.signups import enrol, withdraw
from service.unit_of_work import UnitOfWork


class AlreadyInSeries(Conflict):
    code = "already_in_series"


class SeriesSignupChanged(Conflict):
    code = "series_signup_changed"


# A part one leaves with the series: not begun, so withdrawing is allowed.
_LEFT_WITH_SERIES = (
    ParticipationStatus.SIGNED_UP.value,
    ParticipationStatus.WAITLISTED.value,
    ParticipationStatus.OFFERED.value,
)


@dataclass(frozen=True)
class SkippedOccurrence:
    task_id: int
    reason: str  # the code of what kept them out


@dataclass(frozen=True)
class SeriesSignupOutcome:
    signup: SeriesSignup
    participations: list[Participation]  # joined: enrolled in; left: cancelled
    skipped: list[SkippedOccurrence]


def join_series(
    uow: UnitOfWork, actor: Actor, series_id: int, now: datetime
) -> SeriesSignupOutcome:
    with uow:
        session = uow.session
        series = visible_series(session, actor, series_id, now)
        # Waits for a posting of its occurrences under way (see post_due).
        session.refresh(series, with_for_update=True)
        if series.status != SeriesStatus.ACTIVE.value:
            raise SeriesEnded("this series has ended")
        check_audience(Audience(series.audience), actor.roles)
        signup = _own(session, actor, series.id)
        if signup is None:
            try:
                with session.begin_nested():
                    signup = SeriesSignup(
                        series_id=series.id,
                        user_id=actor.user_id,
                        status=SeriesSignupStatus.ACTIVE.value,
                        joined_at=now,
                    )
                    session.add(signup)
                    session.flush()
            except IntegrityError:
                raise AlreadyInSeries("you are already signed up for this series") from None
        else:
            current = SeriesSignupStatus(signup.status)
            if current is SeriesSignupStatus.ACTIVE:
                raise AlreadyInSeries("you are already signed up for this series")
            _move(session, signup, current, SeriesSignupAction.JOIN, joined_at=now, left_at=None)
        enrolled, skipped = [], []
        for task in _to_come(session, series.id, now):
            try:
                enrolled.append(enrol(session, actor, task, now, waitlist=True))
            except SKIPPED as error:
                skipped.append(SkippedOccurrence(task.id, error.code))
        uow.commit()
        session.refresh(signup)
        return SeriesSignupOutcome(signup, enrolled, skipped)


def leave_series(
    uow: UnitOfWork, actor: Actor, series_id: int, now: datetime
) -> SeriesSignupOutcome:
    with uow:
        session = uow.session
        signup = _own(session, actor, series_id)
        if signup is None:
            raise NotFound("you are not signed up for this series")
        # Waits for a posting under way, so no occurrence it enrols them in is missed.
        session.execute(select(TaskSeries.id).where(TaskSeries.id == series_id).with_for_update())
        _move(
            session,
            signup,
            SeriesSignupStatus(signup.status),
            SeriesSignupAction.LEAVE,
            left_at=now,
        )
        rows = session.execute(
            select(Participation, Task)
            .join(Task, Task.id == Participation.task_id)
            .where(
                Task.series_id == series_id,
                Task.starts_at > now,
                Participation.user_id == actor.user_id,
                Participation.status.in_(_LEFT_WITH_SERIES),
            )
            .order_by(Task.starts_at, Task.id)
        ).all()
        cancelled = []
        for participation, task in rows:
            withdraw(session, participation, task, now)
            cancelled.append(participation)
        uow.commit()
        session.refresh(signup)
        return SeriesSignupOutcome(signup, cancelled, [])


def my_series_signups(
    session: Session, actor: Actor, limit: int, before_id: int | None
) -> list[SeriesSignup]:
    query = (
        select(SeriesSignup)
        .where(SeriesSignup.user_id == actor.user_id)
        .order_by(SeriesSignup.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(SeriesSignup.id < before_id)
    return list(session.scalars(query))


def _own(session: Session, actor: Actor, series_id: int) -> SeriesSignup | None:
    return session.scalars(
        select(SeriesSignup).where(
            SeriesSignup.series_id == series_id, SeriesSignup.user_id == actor.user_id
        )
    ).one_or_none()


def _move(
    session: Session,
    signup: SeriesSignup,
    current: SeriesSignupStatus,
    action: SeriesSignupAction,
    **values: object,
) -> None:
    target = transition(SERIES_SIGNUP_TRANSITIONS, current, action)
    if not move_status(session, SeriesSignup, signup.id, current, target, **values):
        raise SeriesSignupChanged("your sign-up for this series changed a moment ago; reload it")


def _to_come(session: Session, series_id: int, now: datetime) -> list[Task]:
    return list(
        session.scalars(
            select(Task)
            .where(
                Task.series_id == series_id,
                Task.starts_at > now,
                Task.status == TaskStatus.PUBLISHED.value,
            )
            .order_by(Task.starts_at, Task.id)
        )
    )
