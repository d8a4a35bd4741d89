"""What a scope names, who may report on it, and what it counts.

A place subtree counts its residents' work and its own tasks and demands; a party
branch its home members' work (and, for a place's branch, that place's tasks and
demands); a department its branches' members and the whistles it received, with each
community it is paired with (百部联百村) counted apart, over the days of the pairing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, require
from points.calendar import Span
from points.errors import InvalidInput, NotFound
from points.reports import Scope, ScopeKind
from service.organisation.models import Branch, Department, Pairing
from service.places.models import Place
from service.reports.groups import (
    SUMMARY,
    Groups,
    branch_members,
    department_whistles,
    place_children,
    place_summary,
)


@dataclass(frozen=True)
class Paired:
    """A community paired with the department, over the part of the period it was."""

    pairing_id: int
    place: Place
    span: Span


@dataclass(frozen=True)
class Subject:
    scope: Scope
    name: str
    groups: Groups
    place: Place | None = None
    department: Department | None = None


def resolve(session: Session, actor: Actor, scope: Scope) -> Subject:
    """The scope's subject, once the actor may report on it; NotFound for an unknown id
    and for one outside the actor's grants alike."""
    match scope.kind:
        case ScopeKind.PLACE:
            place = _place(session, scope.id)
            require(actor, Action.VIEW_REPORTS, Target(place_path=place.path), what="place")
            return Subject(scope, place.name, place_summary(place), place=place)
        case ScopeKind.BRANCH:
            branch = session.get(Branch, scope.id)
            if branch is None:
                raise NotFound("branch not found", errors={"scope": ["no such branch"]})
            own = session.get(Place, branch.place_id) if branch.place_id else None
            target = Target(
                place_path=own.path if own else None,
                branch_id=branch.id,
                department_id=branch.department_id,
                organisation_wide=branch.department_id is not None,
            )
            require(actor, Action.VIEW_REPORTS, target, what="branch")
            places = place_summary(own).places if own else None
            people = branch_members([branch.id], by_branch=False)
            return Subject(scope, branch.name, Groups([SUMMARY], people, places))
        case ScopeKind.DEPARTMENT:
            department = session.get(Department, scope.id)
            if department is None:
                raise NotFound("department not found", errors={"scope": ["no such department"]})
            target = Target(department_id=department.id, organisation_wide=True)
            require(actor, Action.VIEW_REPORTS, target, what="department")
            people = branch_members(branch_ids(session, department.id), by_branch=False)
            groups = Groups([SUMMARY], people, departments=department_whistles(department.id))
            return Subject(scope, department.name, groups, department=department)
    raise InvalidInput("unknown scope", errors={"scope": ["unknown form"]})  # pragma: no cover


def _place(session: Session, place_id: int) -> Place:
    place = session.get(Place, place_id)
    if place is None:
        raise NotFound("place not found", errors={"scope": ["no such place"]})
    return place


def branch_ids(session: Session, department_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Branch.id).where(Branch.department_id == department_id).order_by(Branch.id)
        )
    )


def paired_communities(session: Session, department_id: int, span: Span) -> list[Paired]:
    """The department's pairings that overlap the period, each clipped to its days:
    a pairing from the middle of a quarter counts the community from that day."""
    rows = session.execute(
        select(Pairing, Place)
        .join(Place, Place.id == Pairing.place_id)
        .where(
            Pairing.department_id == department_id,
            Pairing.started_on < span.end,
            or_(Pairing.ended_on.is_(None), Pairing.ended_on >= span.first),
        )
        # By id, as they were made: a path's text order puts /10/ before /9/.
        .order_by(Place.id, Pairing.started_on)
    ).all()
    paired = []
    for pairing, place in rows:
        first = max(span.first, pairing.started_on)
        end = min(span.end, _day_after(pairing.ended_on)) if pairing.ended_on else span.end
        paired.append(Paired(pairing.id, place, Span(first, end)))
    return paired


def _day_after(day: date) -> date:
    return day + timedelta(days=1)


@dataclass(frozen=True)
class Row:
    key: int
    name: str


def league_rows(session: Session, subject: Subject) -> tuple[list[Row], Groups]:
    """The parts a league table sets side by side: a place's children, or a
    department's branches. A branch has no parts to compare."""
    if subject.place is not None:
        children = session.execute(
            select(Place.id, Place.name)
            .where(Place.parent_id == subject.place.id)
            .order_by(Place.name, Place.id)
        ).all()
        rows = [Row(key, name) for key, name in children]
        return rows, place_children(subject.place, [row.key for row in rows])
    if subject.department is not None:
        branches = session.execute(
            select(Branch.id, Branch.name)
            .where(Branch.department_id == subject.department.id)
            .order_by(Branch.name, Branch.id)
        ).all()
        rows = [Row(key, name) for key, name in branches]
        people = branch_members([row.key for row in rows], by_branch=True)
        return rows, Groups([row.key for row in rows], people)
    raise InvalidInput(
        "a branch has no parts to compare: ask for its place's or department's league",
        errors={"scope": ["a league needs org: or dept:"]},
    )
