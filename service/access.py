"""Who may do what to which object — the one policy every use case asks.

A grant covers its object's subtree: a grant on a place node covers every place
below it (by materialised path), a department grant covers that department and
its branches, a branch or station grant covers just that one. An object outside
all of the actor's grants does not exist for them (``NotFound``); an object in
scope that their roles don't allow the action on is ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from points.access import Action, Role, ScopeType, allows
from points.errors import Forbidden, NotFound
from service.people.models import RoleGrant, User
from service.places.models import Place


@dataclass(frozen=True)
class Grant:
    role: Role
    scope_type: ScopeType
    scope_id: int
    scope_path: str | None = None  # the place's path, for org grants

    @property
    def on_root(self) -> bool:
        """A grant on a root of the place tree covers organisation-wide objects too."""
        return self.scope_path is not None and self.scope_path.count("/") == 2


@dataclass(frozen=True)
class Target:
    """Where an object sits, as far as access is concerned."""

    place_path: str | None = None
    department_id: int | None = None
    branch_id: int | None = None
    station_id: int | None = None
    organisation_wide: bool = False  # departments and their branches


@dataclass(frozen=True)
class Actor:
    user_id: int
    grants: tuple[Grant, ...] = ()

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(grant.role for grant in self.grants)


def covers(grant: Grant, target: Target) -> bool:
    match grant.scope_type:
        case ScopeType.ORG:
            if grant.scope_path is None:
                return False
            if target.organisation_wide and grant.on_root:
                return True
            return target.place_path is not None and target.place_path.startswith(grant.scope_path)
        case ScopeType.DEPARTMENT:
            return target.department_id == grant.scope_id
        case ScopeType.BRANCH:
            return target.branch_id == grant.scope_id
        case ScopeType.STATION:
            return target.station_id == grant.scope_id
    return False


def can(actor: Actor, action: Action, target: Target) -> bool:
    return any(allows(g.role, action) and covers(g, target) for g in actor.grants)


def require(actor: Actor, action: Action, target: Target, *, what: str = "object") -> None:
    """Raise unless the actor may do ``action`` on ``target``."""
    in_scope = [grant for grant in actor.grants if covers(grant, target)]
    if not in_scope:
        raise NotFound(f"{what} not found")
    if not any(allows(grant.role, action) for grant in in_scope):
        raise Forbidden(f"your roles here do not allow {action.value.replace('_', ' ')}")


def place_prefixes(actor: Actor, action: Action) -> list[str]:
    """The subtrees in which the actor may do ``action``, for scoping list queries."""
    return sorted(
        {
            g.scope_path
            for g in actor.grants
            if g.scope_type is ScopeType.ORG and g.scope_path and allows(g.role, action)
        }
    )


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
