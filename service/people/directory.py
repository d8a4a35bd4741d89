"""Finding and creating people and granting roles, idempotently."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from points.access import SERVICE_ROLES, Role, ScopeType
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


def move_home(user: User, place_id: int) -> None:
    """Move someone's residence. The service roles held where they lived (member,
    volunteer, resident) move with them; staff or admin roles belong to the job, not
    the home, and stay. Callers bump the token version: tokens carry the roles."""
    old = user.residence_place_id
    user.residence_place_id = place_id
    for grant in user.grants:
        if (
            grant.scope_type == ScopeType.PLACE
            and grant.scope_id == old
            and Role(grant.role) in SERVICE_ROLES
        ):
            grant.scope_id = place_id


def bump_token_version(session: Session, user_id: int) -> None:
    """Tokens already issued carry the old roles: they stop working."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(token_version=User.token_version + 1)
        .execution_options(synchronize_session=False)
    )
