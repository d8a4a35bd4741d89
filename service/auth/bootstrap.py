"""The operator's first admin: run at the console, so there is no actor to check."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from points.access import Role, ScopeType
from points.errors import Conflict, InvalidInput, NotFound
from points.places import PlaceLevel
from service.auth.passwords import hash_password
from service.people.directory import grant_role_to
from service.people.models import User
from service.places.models import Place
from service.places.tree import add_place
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class NewAdmin:
    name: str
    openid: str | None = None
    username: str | None = None
    password: str | None = None
    place_id: int | None = None
    root_name: str | None = None
    root_level: PlaceLevel | None = None


def _admin_place(uow: UnitOfWork, spec: NewAdmin) -> Place:
    session = uow.session
    if spec.place_id is not None:
        place = session.get(Place, spec.place_id)
        if place is None:
            raise NotFound(f"no place with id {spec.place_id}")
        return place
    roots = list(session.scalars(select(Place).where(Place.parent_id.is_(None)).limit(2)))
    if spec.root_name:
        if roots:
            raise Conflict("the place tree already has a root; name it with --org")
        return add_place(session, None, spec.root_name, spec.root_level or PlaceLevel.DISTRICT)
    if len(roots) == 1:
        return roots[0]
    if not roots:
        raise InvalidInput("the place tree is empty: give --root-name (and --root-level)")
    raise InvalidInput("the place tree has several roots: choose one with --org")


def create_admin(uow: UnitOfWork, spec: NewAdmin) -> tuple[User, Place]:
    if (spec.openid is None) == (spec.username is None):
        raise InvalidInput("give exactly one of --openid and --username")
    with uow:
        session = uow.session
        place = _admin_place(uow, spec)
        key = User.openid == spec.openid if spec.openid else User.username == spec.username
        user = session.scalars(select(User).where(key)).one_or_none()
        if user is None:
            user = User(name=spec.name, openid=spec.openid, username=spec.username)
            session.add(user)
        if spec.username is not None:
            if not spec.password:
                raise InvalidInput("a console admin needs a password")
            user.password_hash = hash_password(spec.password)
        session.flush()
        # At the console: nobody to name as the one who granted it (actor None).
        grant_role_to(session, user, Role.ADMIN, ScopeType.PLACE, place.id, actor_id=None)
        uow.commit()
        return user, place
