"""Who is acting: a user's account state and grants, read once per request, as the
Actor that ``points.access`` judges every use case by."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from points.access import Actor, Grant, Role, ScopeType
from service.people.models import RoleGrant, User
from service.places.models import Place


@dataclass(frozen=True)
class Account:
    """What authenticating a request needs of a user: whether the account may act, the
    token version it accepts, and the actor it acts as."""

    active: bool
    token_version: int
    actor: Actor


_USERS = User.__table__
_GRANTS = RoleGrant.__table__
_PLACES = Place.__table__
# Built once, on the tables rather than the mapped classes: every authenticated request
# runs it, and building a statement (or setting up an ORM query for plain columns)
# costs more CPU than the round trip it makes.
_ACCOUNT = (
    select(
        _USERS.c.active,
        _USERS.c.token_version,
        _GRANTS.c.role,
        _GRANTS.c.scope_type,
        _GRANTS.c.scope_id,
        _PLACES.c.path,
    )
    .select_from(
        _USERS.outerjoin(_GRANTS, _GRANTS.c.user_id == _USERS.c.id).outerjoin(
            _PLACES,
            (_GRANTS.c.scope_type == ScopeType.ORG.value) & (_PLACES.c.id == _GRANTS.c.scope_id),
        )
    )
    .where(_USERS.c.id == bindparam("user_id"))
    .order_by(_GRANTS.c.id)
)


def load_account(session: Session, user_id: int) -> Account | None:
    """The user's state and grants in one query: every authenticated request pays it."""
    rows = session.execute(_ACCOUNT, {"user_id": user_id}).all()
    if not rows:
        return None
    grants = tuple(
        Grant(Role(role), ScopeType(scope_type), scope_id, path)
        for _, _, role, scope_type, scope_id, path in rows
        if role is not None  # the outer join's row for a user without grants
    )
    first = rows[0]
    return Account(first.active, first.token_version, Actor(user_id=user_id, grants=grants))


def load_actor(session: Session, user_id: int) -> Actor:
    account = load_account(session, user_id)
    return account.actor if account is not None else Actor(user_id=user_id)
