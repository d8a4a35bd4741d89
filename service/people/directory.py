"""Finding and creating people and granting roles, idempotently; every change of a
role someone holds written to the audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from points.access import SERVICE_ROLES, Role, ScopeType
from service.audit.log import entry_row, grant_place, record_many
from service.people.models import RoleGrant, User


def ensure_user(
    session: Session, *, openid: str, name: str, residence_place_id: int | None
) -> User:
    user = session.scalars(select(User).where(User.openid == openid)).one_or_none()
    if user is None:
        user = User(openid=openid, name=name, residence_place_id=residence_place_id)
        session.add(user)
        session.flush()
    return user


def ensure_grant(
    session: Session, user: User, role: Role, scope_type: ScopeType, scope_id: int
) -> RoleGrant:
    for grant in user.grants:
        if (grant.role, grant.scope_type, grant.scope_id) == (
            role.value,
            scope_type.value,
            scope_id,
        ):
            return grant
    grant = RoleGrant(role=role.value, scope_type=scope_type.value, scope_id=scope_id)
    user.grants.append(grant)
    session.flush()
    return grant


def grant_role_to(
    session: Session,
    user: User,
    role: Role,
    scope_type: ScopeType,
    scope_id: int,
    *,
    actor_id: int | None,
) -> RoleGrant:
    """``ensure_grant``, audited: a grant made now is written to the trail as
    ``grant.create`` by ``actor_id`` (None at the console); one already held changes
    nothing and writes nothing."""
    held = {(g.role, g.scope_type, g.scope_id): g for g in user.grants}
    known = held.get((role.value, scope_type.value, scope_id))
    if known is not None:
        return known
    grant = ensure_grant(session, user, role, scope_type, scope_id)
    grant.granted_by_id = actor_id
    entry = grant_entry(
        session,
        grant,
        actor_id=actor_id,
        action="grant.create",
        before=None,
        after=described(grant),
    )
    record_many(session, [entry])
    return grant


def described(grant: RoleGrant) -> dict[str, Any]:
    return {
        "user_id": grant.user_id,
        "role": grant.role,
        "scope_type": grant.scope_type,
        "scope_id": grant.scope_id,
    }


def grant_entry(
    session: Session,
    grant: RoleGrant,
    *,
    actor_id: int | None,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    """The audit entry of a change to ``grant``, placed where the grant's scope is."""
    return entry_row(
        session,
        actor_id=actor_id,
        action=action,
        object_type="grant",
        object_id=grant.id,
        before=before,
        after=after,
        place_id=grant_place(session, grant.scope_type, grant.scope_id),
    )


def move_home(user: User, place_id: int) -> list[tuple[RoleGrant, int | None]]:
    """Move someone's residence. The service roles held where they lived (member,
    volunteer, resident) move with them; staff or admin roles belong to the job, not
    the home, and stay. Gives back each grant moved, with where it was, for the caller
    to audit (``moved_grant_entries``). Callers bump the token version: tokens carry
    the roles."""
    old = user.residence_place_id
    user.residence_place_id = place_id
    moved: list[tuple[RoleGrant, int | None]] = []
    for grant in user.grants:
        if (
            grant.scope_type == ScopeType.PLACE
            and grant.scope_id == old
            and Role(grant.role) in SERVICE_ROLES
        ):
            grant.scope_id = place_id
            moved.append((grant, old))
    return moved


def moved_grant_entries(
    session: Session, moved: list[tuple[RoleGrant, int | None]], *, actor_id: int | None
) -> list[dict[str, Any]]:
    """The ``grant.move`` entries of what ``move_home`` moved."""
    return [
        grant_entry(
            session,
            grant,
            actor_id=actor_id,
            action="grant.move",
            before={**described(grant), "scope_id": old},
            after=described(grant),
        )
        for grant, old in moved
    ]


def bump_token_version(session: Session, user_id: int) -> None:
    """Tokens already issued carry the old roles: they stop working."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(token_version=User.token_version + 1)
        .execution_options(synchronize_session=False)
    )
