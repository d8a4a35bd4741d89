"""补录: staff enter work that was done without check-in — for someone signed up who
never checked in, or for someone not signed up at all — with the hours (at most the
task's length), a reason and evidence. The entry is submitted work like any other:
approval prices it by the rules and credits it through the ledger, and a reversal
takes it back. Above a set number of hours someone other than who entered it approves
it (service/tasks/approvals.py); either way it stays marked ``manual_entry``, so
service records and reports count its hours apart from verified ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Actor, Role, ScopeType, SelfApproval, serving_role
from points.errors import InvalidInput, NotFound
from points.lifecycle import transition
from points.notices import Topic
from points.rules import WorkUnit
from points.tasks import (
    PARTICIPATION_TRANSITIONS,
    Audience,
    Flag,
    ParticipationAction,
    ParticipationStatus,
    TaskNotStarted,
    TaskStatus,
    check_audience,
    check_evidence,
    check_manual_hours,
    needs_second_staff,
)
from service.access import load_account
from service.audit.log import record
from service.moderation.photos import note_photo_use
from service.notices import tell
from service.people.models import RoleGrant, User
from service.places.models import Place
from service.places.tree import named_place
from service.tasks.board import place_visible, staff_task
from service.tasks.models import Participation, Task
from service.tasks.signups import NotOpen, ParticipationChanged, move_participation
from service.unit_of_work import UnitOfWork
from service.uploads.photos import attach_to_participation

# Work is entered for a task that took place: published (under way or past) or closed.
# A draft never ran; a cancelled task's work is not credited.
_RECORDABLE_TASKS = frozenset({TaskStatus.PUBLISHED.value, TaskStatus.CLOSED.value})


@dataclass(frozen=True)
class ManualEntry:
    user_id: int  # whose work it was
    hours: Decimal
    reason: str  # why it was not checked in
    note: str = ""  # written evidence: who saw it, what was done
    units: int | None = None  # households visited, residents helped
    upload_ids: Sequence[int] = ()  # photos the entering staff member uploaded


def record_manually(
    uow: UnitOfWork,
    actor: Actor,
    task_id: int,
    entry: ManualEntry,
    now: datetime,
    *,
    confirm_above: Decimal,
    confirm_above_units: int,
) -> Participation:
    """Enter someone's work on a task as submitted, flagged ``manual_entry``. Capacity
    is no reason to refuse work already done: a person not signed up takes no seat."""
    if not entry.reason.strip():
        raise InvalidInput("say why the work is entered by hand", errors={"reason": ["required"]})
    check_evidence(entry.note, entry.upload_ids)
    with uow:
        session = uow.session
        task = staff_task(session, actor, task_id, now)
        if task.status not in _RECORDABLE_TASKS:
            raise NotOpen(f"work is not entered for a {task.status} task")
        if now < task.starts_at:
            raise TaskNotStarted("the task has not started: its work can't have been done")
        check_manual_hours(entry.hours, task.starts_at, task.ends_at, now)
        if task.work_unit != WorkUnit.HOURS.value and entry.units is None:
            raise InvalidInput("say how many they reached", errors={"units": ["required"]})
        if entry.user_id == actor.user_id:
            raise SelfApproval("nobody enters their own work")
        participation = _participation_for(session, task, entry.user_id, now)
        current = ParticipationStatus(participation.status)
        target = transition(PARTICIPATION_TRANSITIONS, current, ParticipationAction.RECORD_MANUALLY)
        second = needs_second_staff(entry.hours, entry.units, confirm_above, confirm_above_units)
        move_participation(
            session,
            participation,
            current,
            target,
            hours=entry.hours,
            units=entry.units or 0,
            note=entry.note,
            submitted_at=now,
            offer_expires_at=None,
            flags=[*(participation.flags or []), Flag.MANUAL_ENTRY.value],
            entered_by_id=actor.user_id,
            entry_reason=entry.reason,
            needs_second_staff=second,
        )
        attach_to_participation(session, actor.user_id, participation.id, entry.upload_ids, now)
        note_photo_use(session, entry.upload_ids, "participation", participation.id, task.place_id)
        record(
            session,
            actor_id=actor.user_id,
            action="participation.record_manually",
            object_type="participation",
            object_id=participation.id,
            before={"status": current.value},
            after={
                "status": target.value,
                "user_id": participation.user_id,
                "task_id": task.id,
                "hours": str(entry.hours),
                "units": entry.units,
                "reason": entry.reason,
                "note": entry.note,
                "upload_ids": list(entry.upload_ids),
                "needs_second_staff": second,
            },
            place_id=task.place_id,
        )
        if second:
            _tell_confirmers(session, task, participation, entry, actor.user_id)
        uow.commit()
        return participation


def _tell_confirmers(
    session: Session, task: Task, participation: Participation, entry: ManualEntry, asker: int
) -> None:
    """Staff and admins whose places hold the task, but neither who entered the work nor
    whose work it is, hear that an approval waits for one of them."""
    place = named_place(session, task.place_id)
    confirmers = session.scalars(
        select(RoleGrant.user_id)
        .join(Place, Place.id == RoleGrant.scope_id)
        .where(
            RoleGrant.scope_type == ScopeType.PLACE.value,
            RoleGrant.role.in_([Role.STAFF.value, Role.ADMIN.value]),
            literal(place.path).startswith(Place.path),
            RoleGrant.user_id.not_in([asker, participation.user_id]),
        )
        .distinct()
    ).all()
    member = session.get(User, participation.user_id)
    tell(
        session,
        Topic.ENTRY_TO_CONFIRM,
        confirmers,
        {
            "participation_id": participation.id,
            "task_id": task.id,
            "task_title": task.title,
            "member_name": member.name if member is not None else "",
            "hours": str(entry.hours),
            "reason": entry.reason,
        },
        source=f"participation:{participation.id}:to_confirm",
    )


def _participation_for(session: Session, task: Task, user_id: int, now: datetime) -> Participation:
    """Their participation in the task, or a new one signed up now (by their roles, as
    sign-up would have let them in), ready to be moved by the table."""
    earlier = session.scalars(
        select(Participation).where(
            Participation.task_id == task.id, Participation.user_id == user_id
        )
    ).one_or_none()
    if earlier is not None:
        return earlier
    account = load_account(session, user_id)
    if account is None or not account.active:
        raise NotFound("person not found", errors={"user_id": ["no such person"]})
    # As sign-up would: the task must be one posted where they live or serve, and the
    # same 404 as for nobody, so ids elsewhere can't be probed.
    if not place_visible(session, account.actor, task.place_id, now, True):
        raise NotFound("person not found", errors={"user_id": ["no such person"]})
    roles = account.actor.roles
    check_audience(Audience(task.audience), roles)
    participation = Participation(
        task_id=task.id,
        user_id=user_id,
        role=serving_role(roles).value,
        status=ParticipationStatus.SIGNED_UP.value,
        signed_up_at=now,
        flags=[],
    )
    try:
        with session.begin_nested():
            session.add(participation)
            session.flush()
    except IntegrityError:
        # Someone signed them up, or entered their work, a moment ago.
        raise ParticipationChanged("this person's part in the task changed; reload it") from None
    return participation
