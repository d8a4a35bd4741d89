"""Who is acting: a user's account state and grants, read once per request, as the
Actor that ``points.access`` judges every use case by."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from points.access import Actor, Grant, Role, ScopeType
from service.people.models import GRANT_TABLE, USER_TABLE
from service.places.models import PLACE_TABLE


@dataclass(frozen=True)
class Account:
    """What authenticating a request needs of a user: whether the account may act, the
    token version it accepts, and the actor it acts as."""

    active: bool
    token_version: int
    actor: Actor


# Built once, on the tables rather than the mapped classes: every authenticated request
# runs it, and building a statement (or setting up an ORM query for plain columns)
# costs more CPU than the round trip it makes.
_ACCOUNT = (
    select(
        USER_TABLE.c.active,
        USER_TABLE.c.token_version,
        GRANT_TABLE.c.role,
        GRANT_TABLE.c.scope_type,
        GRANT_TABLE.c.scope_id,
        PLACE_TABLE.c.path,
    )
    .select_from(
        USER_TABLE.outerjoin(GRANT_TABLE, GRANT_TABLE.c.user_id == USER_TABLE.c.id).outerjoin(
            PLACE_TABLE,
            (GRANT_TABLE.c.scope_type == ScopeType.PLACE.value)
            & (PLACE_TABLE.c.id == GRANT_TABLE.c.scope_id),
        )
    )
    .where(USER_TABLE.c.id == bindparam("user_id"))
    .order_by(GRANT_TABLE.c.id)
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
