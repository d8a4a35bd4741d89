"""Submitting work and approving it: approval credits points in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Self

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from points.access import Action, Actor, Role, SelfApproval, Target, place_prefixes, require
from points.content import Scene
from points.errors import DomainError, Forbidden, InvalidInput, NotFound
from points.lifecycle import transition
from points.notices import Topic
from points.rules import Category, EarningEvent, Facts, TaskType, WorkUnit
from points.tasks import (
    PARTICIPATION_TRANSITIONS,
    ParticipationAction,
    ParticipationStatus,
    SecondStaffRequired,
)
from service.audit.log import points_moved, record
from service.demands.serving import resolve_by_task
from service.ledger.models import Transfer
from service.ledger.reversals import reverse_source
from service.moderation.photos import note_photo_use
from service.moderation.text import hold_text, screen_text
from service.notices import amounts, explanations, tell
from service.outbox.events import Durable
from service.people.models import User
from service.places.models import Place
from service.rules.crediting import Work, credit_work
from service.tasks.households import link_households
from service.tasks.models import Participation, Task
from service.tasks.ratings import settle_reviews
from service.tasks.signups import move_participation, own_participation_and_task
from service.unit_of_work import UnitOfWork
from service.uploads.photos import attach_to_participation, photo_ids
from service.wechat.security import ContentSecurity


@dataclass(frozen=True, slots=True)
class ParticipationReversed(Durable, kind="participation.reversed"):
    """Approved work was undone: what was issued on it (a 志愿服务证明) no longer
    holds. Kept in the reversal's own transaction, so no reversal goes unheard."""

    participation_id: int

    def to_payload(self) -> dict[str, Any]:
        return {"participation_id": self.participation_id}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        return cls(int(payload["participation_id"]))


@dataclass(frozen=True)
class Approved:
    participation: Participation
    transfers: list[Transfer]


def submit_participation(
    uow: UnitOfWork,
    actor: Actor,
    participation_id: int,
    note: str,
    units: int | None,
    now: datetime,
    upload_ids: Sequence[int] = (),
    household_ids: list[int] | None = None,
    *,
    checks: ContentSecurity,
) -> Participation:
    """Hand in the work: the households it reached, and photos the participant uploaded
    (each attached once, in order). The note is screened by WeChat first (a log of
    one's own work: scene 社交日志)."""
    screened = screen_text(uow.session, checks, actor.user_id, note, Scene.SOCIAL_LOG, "note")
    with uow:
        session = uow.session
        participation, task = own_participation_and_task(session, actor, participation_id)
        current = ParticipationStatus(participation.status)
        target = transition(PARTICIPATION_TRANSITIONS, current, ParticipationAction.SUBMIT)
        units = link_households(session, participation, task, household_ids, units)
        if task.work_unit != WorkUnit.HOURS.value and units is None:
            raise InvalidInput("say how many you reached", errors={"units": ["required"]})
        move_participation(
            session, participation, current, target, note=note, units=units or 0, submitted_at=now
        )
        attach_to_participation(session, participation.user_id, participation.id, upload_ids, now)
        hold_text(
            session,
            screened,
            subject="participation",
            subject_id=participation.id,
            field="note",
            author_id=actor.user_id,
            place_id=task.place_id,
            now=now,
        )
        note_photo_use(session, upload_ids, "participation", participation.id, task.place_id)
        uow.commit()
        return participation


@dataclass(frozen=True)
class _Reviewed:
    """What an approver's step loaded, kept together so later steps read none of it
    again (the session keeps only objects someone holds). Of the task and its place,
    only what pricing the work needs: plain values, not objects to track."""

    participation: Participation
    task: _TaskFacts


@dataclass(frozen=True)
class _TaskFacts:
    place_id: int
    place_path: str
    starts_at: datetime
    type: str
    category: str
    work_unit: str
    title: str
    demand_id: int | None  # the demand the task serves: its work is the demand's 反馈


# Built once (every approval runs it): building costs more than the query.
_FOR_REVIEW = (
    select(
        Participation,
        Task.place_id,
        Place.path,
        Task.starts_at,
        Task.type,
        Task.category,
        Task.work_unit,
        Task.title,
        Task.demand_id,
    )
    .join(Task, Task.id == Participation.task_id)
    .join(Place, Place.id == Task.place_id)
    .where(Participation.id == bindparam("participation_id"))
)


def _for_approver(session: Session, actor: Actor, participation_id: int) -> _Reviewed:
    row = session.execute(_FOR_REVIEW, {"participation_id": participation_id}).first()
    if row is None:
        raise NotFound("participation not found")
    participation, place_id, place_path, starts_at, type_, category, work_unit, title, demand = row
    facts = _TaskFacts(place_id, place_path, starts_at, type_, category, work_unit, title, demand)
    require(
        actor,
        Action.MANAGE_TASKS,
        Target(place_path=facts.place_path),
        what="participation",
    )
    if participation.user_id == actor.user_id:
        raise SelfApproval("nobody approves their own work")
    return _Reviewed(participation, facts)


def _decide(
    session: Session,
    actor: Actor,
    participation_id: int,
    action: ParticipationAction,
    now: datetime,
    **values: object,
) -> _Reviewed:
    """An approver's step: in scope, not their own, allowed from the current state, and
    moved by a conditional UPDATE so a second, concurrent step finds nothing to move."""
    reviewed = _for_approver(session, actor, participation_id)
    participation = reviewed.participation
    current = ParticipationStatus(participation.status)
    target = transition(PARTICIPATION_TRANSITIONS, current, action)
    if (
        action is ParticipationAction.APPROVE
        and participation.needs_second_staff
        and participation.entered_by_id == actor.user_id
    ):
        raise SecondStaffRequired("a second staff member must approve work you entered by hand")
    move_participation(
        session,
        participation,
        current,
        target,
        decided_by_id=actor.user_id,
        decided_at=now,
        **values,
    )
    return reviewed


def approve_participation(
    uow: UnitOfWork, actor: Actor, participation_id: int, now: datetime
) -> Approved:
    with uow:
        session = uow.session
        reviewed = _decide(session, actor, participation_id, ParticipationAction.APPROVE, now)
        participation, task = reviewed.participation, reviewed.task
        credited = credit_work(
            session,
            Work(
                source=f"participation:{participation.id}",
                user_id=participation.user_id,
                place_id=task.place_id,
                done_at=task.starts_at,
                facts=_facts(task, participation),
                actor_id=actor.user_id,
            ),
            now,
        )
        _audit(session, actor, reviewed, "approve", {"transfers": points_moved(credited.transfers)})
        _tell(
            session,
            Topic.PARTICIPATION_APPROVED,
            reviewed,
            points=amounts(credited.transfers),
            explanation=explanations(credited.transfers),
        )
        if task.demand_id is not None:
            resolve_by_task(
                session,
                actor,
                task.demand_id,
                participation.task_id,
                f"任务「{task.title}」的服务已完成并通过审核",
                photo_ids(session, participation.id),
                now,
            )
        uow.commit()
        return Approved(participation, credited.transfers)


def _audit(
    session: Session,
    actor: Actor,
    reviewed: _Reviewed,
    verb: str,
    after: dict[str, object],
    before: ParticipationStatus = ParticipationStatus.SUBMITTED,
) -> None:
    """A decision on someone's work, where the task is: who, on whose work, what moved."""
    participation = reviewed.participation
    record(
        session,
        actor_id=actor.user_id,
        action=f"participation.{verb}",
        object_type="participation",
        object_id=participation.id,
        before={"status": before.value},
        after={
            "status": participation.status,
            "user_id": participation.user_id,
            "task_id": participation.task_id,
            **after,
        },
        place_id=reviewed.task.place_id,
    )


def _facts(task: _TaskFacts, participation: Participation) -> Facts:
    return Facts(
        event=EarningEvent.TASK_COMPLETED,
        role=Role(participation.role),
        task_type=TaskType(task.type),
        category=Category(task.category),
        hours=participation.hours or Decimal(0),
        units=participation.units or 0,
        work_unit=WorkUnit(task.work_unit),
    )


def reject_participation(
    uow: UnitOfWork, actor: Actor, participation_id: int, reason: str, now: datetime
) -> Participation:
    with uow:
        session = uow.session
        reviewed = _decide(
            session, actor, participation_id, ParticipationAction.REJECT, now, reject_reason=reason
        )
        _audit(session, actor, reviewed, "reject", {"reason": reason})
        _tell(session, Topic.PARTICIPATION_REJECTED, reviewed, reason=reason)
        uow.commit()
        return reviewed.participation


@dataclass(frozen=True)
class BulkOutcome:
    participation_id: int
    approved: Approved | None
    error: DomainError | None


def approve_many(uow: UnitOfWork, actor: Actor, ids: list[int], now: datetime) -> list[BulkOutcome]:
    """Each approval is its own transaction: one bad item doesn't hold up the rest."""
    if not place_prefixes(actor, Action.MANAGE_TASKS):
        raise Forbidden("your roles do not include approving work")
    outcomes = []
    for participation_id in dict.fromkeys(ids):
        try:
            outcomes.append(
                BulkOutcome(
                    participation_id, approve_participation(uow, actor, participation_id, now), None
                )
            )
        except DomainError as error:
            outcomes.append(BulkOutcome(participation_id, None, error))
    return outcomes


def approval_queue(
    session: Session, actor: Actor, place_id: int | None, limit: int, offset: int
) -> list[Participation]:
    """Submitted work in the places the actor approves for, oldest first, each with its
    task and member loaded (``participation.task``, ``participation.member``)."""
    prefixes = place_prefixes(actor, Action.MANAGE_TASKS)
    if not prefixes:
        raise Forbidden("your roles do not include approving work")
    query = (
        select(Participation)
        .join(Task, Task.id == Participation.task_id)
        .join(Place, Place.id == Task.place_id)
        .join(User, User.id == Participation.user_id)
        .where(
            Participation.status == ParticipationStatus.SUBMITTED.value,
            or_(*(Place.path.startswith(prefix) for prefix in prefixes)),
        )
        .options(
            # The task and the member come in the same statement: a reviewer reads names.
            contains_eager(Participation.task),
            contains_eager(Participation.member),
            selectinload(Participation.photos),
            selectinload(Participation.households),
        )
        .order_by(Participation.submitted_at, Participation.id)
        .offset(offset)
        .limit(limit)
    )
    if place_id is not None:
        root = session.get(Place, place_id)
        if root is None:
            raise NotFound("place not found", errors={"org_id": ["no such place"]})
        query = query.where(Place.path.startswith(root.path))
    return list(session.scalars(query))


def reverse_approval(
    uow: UnitOfWork, actor: Actor, participation_id: int, reason: str, now: datetime
) -> Approved:
    """Undo an approval made in error: the participation is marked reversed and every
    transfer it earned is reversed, together. Refused (nothing changes) if the member
    has already spent the points."""
    with uow:
        session = uow.session
        reviewed = _decide(
            session, actor, participation_id, ParticipationAction.REVERSE, now, reject_reason=reason
        )
        participation = reviewed.participation
        reversals = reverse_source(
            session, f"participation:{participation.id}", actor_id=actor.user_id, reason=reason
        )
        settle_reviews(session, actor, participation.id, reason, now)
        _audit(
            session,
            actor,
            reviewed,
            "reverse",
            {"reason": reason, "transfers": points_moved(reversals)},
            before=ParticipationStatus.APPROVED,
        )
        uow.record(ParticipationReversed(participation.id))
        _tell(
            session,
            Topic.PARTICIPATION_REVERSED,
            reviewed,
            points=amounts(reversals),
            reason=reason,
        )
        uow.commit()
        return Approved(participation, reversals)


def _tell(session: Session, topic: Topic, reviewed: _Reviewed, **facts: str) -> None:
    """The member hears of a decision on their work, once per decision."""
    participation = reviewed.participation
    tell(
        session,
        topic,
        [participation.user_id],
        {
            "participation_id": participation.id,
            "task_id": participation.task_id,
            "task_title": reviewed.task.title,
            **facts,
        },
    )
