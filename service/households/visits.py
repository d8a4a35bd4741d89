"""Visits to households (走访): a member or volunteer logs one, staff confirm it, and
confirming credits the visitor by rule in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from points.access import Action, Actor, Role, SelfApproval, place_prefixes, serving_role
from points.content import Scene
from points.errors import Conflict, Forbidden, NotFound
from points.households import (
    VISIT_TRANSITIONS,
    AlreadyVisitedToday,
    VisitAction,
    VisitStatus,
    blocks_same_day,
    check_visit_time,
    visit_day,
)
from points.lifecycle import transition
from points.rules import EarningEvent, Facts
from service.audit.log import points_moved, record
from service.households.models import Household, HouseholdVisit
from service.households.register import household_in_scope
from service.ledger.models import Transfer
from service.lifecycle import move_status
from service.moderation.photos import note_photo_use
from service.moderation.text import hold_text, screen_text
from service.places.models import Place
from service.rules.crediting import Work, credit_work
from service.unit_of_work import UnitOfWork
from service.uploads.photos import check_own_photos
from service.wechat.security import ContentSecurity


class VisitChanged(Conflict):
    code = "visit_changed"


class HouseholdInactive(Conflict):
    code = "household_inactive"


@dataclass(frozen=True)
class NewVisit:
    household_id: int
    visited_at: datetime
    note: str = ""
    upload_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Confirmed:
    visit: HouseholdVisit
    transfers: list[Transfer]


def source_of(visit: HouseholdVisit) -> str:
    return f"household_visit:{visit.id}"


def record_visit(
    uow: UnitOfWork, actor: Actor, spec: NewVisit, now: datetime, *, checks: ContentSecurity
) -> HouseholdVisit:
    """The note is screened by WeChat first (a log of one's own work: scene 社交日志)."""
    check_visit_time(spec.visited_at, now)
    screened = screen_text(uow.session, checks, actor.user_id, spec.note, Scene.SOCIAL_LOG, "note")
    with uow:
        session = uow.session
        household, _ = household_in_scope(session, actor, spec.household_id, Action.RECORD_VISITS)
        if not household.active:
            raise HouseholdInactive("this household is no longer on the register")
        day = visit_day(spec.visited_at)
        earlier = session.scalars(
            select(HouseholdVisit.status).where(
                HouseholdVisit.household_id == household.id,
                HouseholdVisit.visitor_id == actor.user_id,
                HouseholdVisit.visit_day == day,
            )
        ).all()
        if any(blocks_same_day(VisitStatus(status)) for status in earlier):
            raise AlreadyVisitedToday("you have logged a visit to this household on this day")
        role = serving_role(actor.roles)
        visit = HouseholdVisit(
            household_id=household.id,
            visitor_id=actor.user_id,
            role=role.value,
            visited_at=spec.visited_at,
            visit_day=day,
            note=spec.note,
            upload_ids=check_own_photos(session, actor.user_id, spec.upload_ids, now),
        )
        session.add(visit)
        session.flush()
        hold_text(
            session,
            screened,
            subject="visit",
            subject_id=visit.id,
            field="note",
            author_id=actor.user_id,
            place_id=household.place_id,
            now=now,
        )
        note_photo_use(session, visit.upload_ids, "visit", visit.id, household.place_id)
        uow.commit()
        return visit


def _for_confirmer(
    session: Session, actor: Actor, visit_id: int
) -> tuple[HouseholdVisit, Household]:
    visit = session.get(HouseholdVisit, visit_id)
    if visit is None:
        raise NotFound("visit not found")
    household, _ = household_in_scope(session, actor, visit.household_id, Action.MANAGE_HOUSEHOLDS)
    if visit.visitor_id == actor.user_id:
        raise SelfApproval("nobody confirms their own visit")
    return visit, household


def _decide(
    session: Session,
    actor: Actor,
    visit_id: int,
    action: VisitAction,
    now: datetime,
    **values: object,
) -> tuple[HouseholdVisit, Household]:
    """Moved by a conditional UPDATE, so a second, concurrent decision finds nothing to move."""
    visit, household = _for_confirmer(session, actor, visit_id)
    current = VisitStatus(visit.status)
    target = transition(VISIT_TRANSITIONS, current, action)
    try:
        with session.begin_nested():
            moved = move_status(
                session,
                HouseholdVisit,
                visit.id,
                current,
                target,
                decided_by_id=actor.user_id,
                decided_at=now,
                **values,
            )
    except IntegrityError:
        raise AlreadyVisitedToday(
            "this visitor already has a confirmed visit to this household that day"
        ) from None
    if not moved:
        raise VisitChanged("this visit changed a moment ago; reload it")
    return visit, household


def confirm_visit(uow: UnitOfWork, actor: Actor, visit_id: int, now: datetime) -> Confirmed:
    with uow:
        session = uow.session
        visit, household = _decide(session, actor, visit_id, VisitAction.CONFIRM, now)
        credited = credit_work(
            session,
            Work(
                source=source_of(visit),
                user_id=visit.visitor_id,
                place_id=household.place_id,
                done_at=visit.visited_at,
                facts=Facts(event=EarningEvent.HOUSEHOLD_VISIT, role=Role(visit.role)),
                actor_id=actor.user_id,
            ),
            now,
        )
        record(
            session,
            actor_id=actor.user_id,
            action="visit.confirm",
            object_type="household_visit",
            object_id=visit.id,
            before={"status": VisitStatus.SUBMITTED.value},
            after={
                "status": VisitStatus.CONFIRMED.value,
                "user_id": visit.visitor_id,
                "household_id": visit.household_id,
                "transfers": points_moved(credited.transfers),
            },
            place_id=household.place_id,
        )
        uow.commit()
        session.refresh(visit)
        return Confirmed(visit, credited.transfers)


def reject_visit(
    uow: UnitOfWork, actor: Actor, visit_id: int, reason: str, now: datetime
) -> HouseholdVisit:
    with uow:
        session = uow.session
        visit, _ = _decide(session, actor, visit_id, VisitAction.REJECT, now, reject_reason=reason)
        uow.commit()
        session.refresh(visit)
        return visit


def visit_queue(
    session: Session, actor: Actor, place_id: int | None, limit: int, offset: int
) -> list[HouseholdVisit]:
    """Visits awaiting confirmation in the places the actor confirms for, oldest first."""
    prefixes = place_prefixes(actor, Action.MANAGE_HOUSEHOLDS)
    if not prefixes:
        raise Forbidden("your roles do not include confirming visits")
    query = (
        select(HouseholdVisit)
        .join(Household, Household.id == HouseholdVisit.household_id)
        .join(Place, Place.id == Household.place_id)
        .where(
            HouseholdVisit.status == VisitStatus.SUBMITTED.value,
            or_(*(Place.path.startswith(prefix) for prefix in prefixes)),
        )
        .order_by(HouseholdVisit.created_at, HouseholdVisit.id)
        .offset(offset)
        .limit(limit)
    )
    if place_id is not None:
        root = session.get(Place, place_id)
        if root is None:
            raise NotFound("place not found", errors={"org_id": ["no such place"]})
        query = query.where(Place.path.startswith(root.path))
    return list(session.scalars(query))


def my_visits(
    session: Session, actor: Actor, limit: int, before_id: int | None
) -> list[HouseholdVisit]:
    query = (
        select(HouseholdVisit)
        .where(HouseholdVisit.visitor_id == actor.user_id)
        .order_by(HouseholdVisit.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(HouseholdVisit.id < before_id)
    return list(session.scalars(query))


def visit_history(
    session: Session,
    actor: Actor,
    household_id: int,
    limit: int,
    before: tuple[datetime, int] | None = None,
) -> list[HouseholdVisit]:
    """Every visit logged to one household, whatever became of it, newest first (by when
    it happened); a page resumes before the (visited_at, id) it ended at. For those who
    keep the register there: who visited and what they wrote is theirs to read."""
    household, _ = household_in_scope(session, actor, household_id, Action.MANAGE_HOUSEHOLDS)
    query = (
        select(HouseholdVisit)
        .where(HouseholdVisit.household_id == household.id)
        .options(undefer(HouseholdVisit.visitor_name))
        .order_by(HouseholdVisit.visited_at.desc(), HouseholdVisit.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(tuple_(HouseholdVisit.visited_at, HouseholdVisit.id) < before)
    return list(session.scalars(query))
