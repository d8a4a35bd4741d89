"""Staff and admins looking after people: who is in my scope, and their roles."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from points.access import (
    SERVICE_ROLES,
    Action,
    Actor,
    Role,
    ScopeType,
    Target,
    can,
    place_prefixes,
    require,
)
from points.errors import Forbidden, NotFound
from service.audit.log import record, record_many
from service.organisation.models import Branch, Department, Station
from service.people.directory import (
    bump_token_version,
    described,
    grant_entry,
    grant_role_to,
    move_home,
    moved_grant_entries,
)
from service.people.models import RoleGrant, User
from service.places.models import Place
from service.unit_of_work import UnitOfWork


def person_target(session: Session, user: User) -> Target:
    place = session.get(Place, user.residence_place_id) if user.residence_place_id else None
    branch = session.get(Branch, user.home_branch_id) if user.home_branch_id else None
    return Target(
        place_path=place.path if place else None,
        branch_id=branch.id if branch else None,
        department_id=branch.department_id if branch else None,
    )


def list_people(session: Session, actor: Actor, *, limit: int, after_id: int = 0) -> list[User]:
    """People living in the places the actor may view people in, by id."""
    prefixes = place_prefixes(actor, Action.VIEW_PEOPLE)
    if not prefixes:
        raise Forbidden("your roles do not include looking after people")
    query = (
        select(User)
        .join(Place, Place.id == User.residence_place_id)
        .where(or_(*(Place.path.startswith(prefix) for prefix in prefixes)), User.id > after_id)
        .order_by(User.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def get_person(session: Session, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("person not found")
    require(actor, Action.VIEW_PEOPLE, person_target(session, user), what="person")
    return user


def scope_target(session: Session, scope_type: ScopeType, scope_id: int) -> Target:
    match scope_type:
        case ScopeType.PLACE:
            place = session.get(Place, scope_id)
            if place is None:
                raise NotFound("place not found", errors={"scope_id": ["no such place"]})
            return Target(place_path=place.path)
        case ScopeType.BRANCH:
            branch = session.get(Branch, scope_id)
            if branch is None:
                raise NotFound("branch not found", errors={"scope_id": ["no such branch"]})
            if branch.place_id is not None:
                place = session.get(Place, branch.place_id)
                return Target(place_path=place.path if place else None, branch_id=branch.id)
            return Target(organisation_wide=True, branch_id=branch.id)
        case ScopeType.DEPARTMENT:
            if session.get(Department, scope_id) is None:
                raise NotFound("department not found", errors={"scope_id": ["no such department"]})
            return Target(organisation_wide=True, department_id=scope_id)
        case ScopeType.STATION:
            station = session.get(Station, scope_id)
            if station is not None:
                place = session.get(Place, station.place_id)
                return Target(place_path=place.path if place else None, station_id=station.id)
    raise NotFound("station not found", errors={"scope_id": ["no such station"]})


def _require_may_grant(actor: Actor, role: Role, target: Target) -> None:
    if can(actor, Action.MANAGE_PEOPLE, target):
        return
    if role in SERVICE_ROLES and can(actor, Action.GRANT_SERVICE_ROLES, target):
        return
    require(actor, Action.MANAGE_PEOPLE, target, what="scope")  # 404 out of scope, else 403


def grant_role(
    uow: UnitOfWork, actor: Actor, user_id: int, role: Role, scope_type: ScopeType, scope_id: int
) -> User:
    with uow:
        session = uow.session
        user = get_person(session, actor, user_id)
        _require_may_grant(actor, role, scope_target(session, scope_type, scope_id))
        grant_role_to(session, user, role, scope_type, scope_id, actor_id=actor.user_id)
        bump_token_version(session, user.id)
        uow.commit()
        session.refresh(user)
        return user


@dataclass(frozen=True)
class PersonChanges:
    name: str | None = None
    residence_place_id: int | None = None
    home_branch_id: int | None = None
    active: bool | None = None
    leaderboard_banned: bool | None = None


def update_person(uow: UnitOfWork, actor: Actor, user_id: int, changes: PersonChanges) -> User:
    """Staff correct a person's details and move them between places they look after."""
    with uow:
        session = uow.session
        user = get_person(session, actor, user_id)
        _require_may_grant(actor, Role.RESIDENT, person_target(session, user))
        if changes.name is not None:
            user.name = changes.name
        if changes.residence_place_id is not None:
            _move_residence(uow, actor, user, changes.residence_place_id)
        if changes.home_branch_id is not None:
            branch_target = scope_target(session, ScopeType.BRANCH, changes.home_branch_id)
            _require_may_grant(actor, Role.MEMBER, branch_target)
            user.home_branch_id = changes.home_branch_id
        banned = changes.leaderboard_banned
        if banned is not None and banned != user.leaderboard_banned:
            user.leaderboard_banned = banned
            record(
                session,
                actor_id=actor.user_id,
                action="person.leaderboard_ban" if banned else "person.leaderboard_unban",
                object_type="user",
                object_id=user.id,
                before={"leaderboard_banned": not banned},
                after={"leaderboard_banned": banned},
                place_id=user.residence_place_id,
            )
        if changes.active is not None and changes.active != user.active:
            if user.id == actor.user_id:
                raise Forbidden("you cannot disable your own account")
            require(actor, Action.MANAGE_PEOPLE, person_target(session, user), what="person")
            user.active = changes.active
            bump_token_version(session, user.id)
            # An account that can't act holds its roles in name only: a change of rights.
            record(
                session,
                actor_id=actor.user_id,
                action="person.enable" if changes.active else "person.disable",
                object_type="user",
                object_id=user.id,
                before={"active": not changes.active},
                after={"active": changes.active},
                place_id=user.residence_place_id,
            )
        uow.commit()
        session.refresh(user)
        return user


def _move_residence(uow: UnitOfWork, actor: Actor, user: User, place_id: int) -> None:
    session = uow.session
    target = scope_target(session, ScopeType.PLACE, place_id)
    _require_may_grant(actor, Role.RESIDENT, target)
    moved = move_home(user, place_id)
    record_many(session, moved_grant_entries(session, moved, actor_id=actor.user_id))
    bump_token_version(session, user.id)


def revoke_grant(uow: UnitOfWork, actor: Actor, user_id: int, grant_id: int) -> User:
    with uow:
        session = uow.session
        user = get_person(session, actor, user_id)
        grant = session.get(RoleGrant, grant_id)
        if grant is None or grant.user_id != user.id:
            raise NotFound("grant not found")
        target = scope_target(session, ScopeType(grant.scope_type), grant.scope_id)
        _require_may_grant(actor, Role(grant.role), target)
        if user.id == actor.user_id and grant.role == Role.ADMIN:
            raise Forbidden("an admin cannot remove their own admin role")
        entry = grant_entry(
            session,
            grant,
            actor_id=actor.user_id,
            action="grant.revoke",
            before=described(grant),
            after=None,
        )
        session.delete(grant)
        session.flush()
        record_many(session, [entry])
        bump_token_version(session, user.id)
        uow.commit()
        session.refresh(user)
        return user
