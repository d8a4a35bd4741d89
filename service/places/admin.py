"""Managing the place tree: create, rename and move nodes within one's scope."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, require
from points.errors import Conflict, InvalidInput, NotFound
from points.places import PlaceLevel, check_child_level, check_depth, depth_of
from service.places.models import Place
from service.places.tree import add_place
from service.unit_of_work import UnitOfWork


class NameTaken(Conflict):
    code = "name_taken"


@dataclass(frozen=True)
class PlaceChanges:
    name: str | None = None
    parent_id: int | None = None


def place_target(place: Place) -> Target:
    return Target(place_path=place.path)


def list_places(
    session: Session, *, under: int | None = None, after_path: str | None = None, limit: int
) -> list[Place]:
    """Place names are public (residents pick their community), so any signed-in person
    may read the tree; changing it is scoped. In tree order (by path)."""
    query = select(Place).order_by(Place.path).limit(limit)
    if under is not None:
        root = get_place(session, under)
        query = query.where(Place.path.startswith(root.path))
    if after_path is not None:
        query = query.where(Place.path > after_path)
    return list(session.scalars(query))


def get_place(session: Session, place_id: int) -> Place:
    place = session.get(Place, place_id)
    if place is None:
        raise NotFound("place not found")
    return place


def create_place(
    uow: UnitOfWork, actor: Actor, parent_id: int, name: str, level: PlaceLevel
) -> Place:
    with uow:
        parent = get_place(uow.session, parent_id)
        require(actor, Action.MANAGE_PLACES, place_target(parent), what="place")
        try:
            with uow.session.begin_nested():
                place = add_place(uow.session, parent, name, level)
        except IntegrityError:
            raise NameTaken(f"{parent.name} already has a place named {name}") from None
        uow.commit()
        return place


def update_place(uow: UnitOfWork, actor: Actor, place_id: int, changes: PlaceChanges) -> Place:
    with uow:
        session = uow.session
        place = get_place(session, place_id)
        require(actor, Action.MANAGE_PLACES, place_target(place), what="place")
        if changes.parent_id is not None and changes.parent_id != place.parent_id:
            _move(session, actor, place, changes.parent_id)
        if changes.name is not None:
            place.name = changes.name
        try:
            session.flush()
        except IntegrityError:
            raise NameTaken("a sibling already has that name") from None
        uow.commit()
        session.refresh(place)
        return place


def _move(session: Session, actor: Actor, place: Place, parent_id: int) -> None:
    parent = get_place(session, parent_id)
    require(actor, Action.MANAGE_PLACES, place_target(parent), what="place")
    if parent.path.startswith(place.path):
        raise InvalidInput(
            "a place cannot move under itself", errors={"parent_id": ["inside this place"]}
        )
    if place.parent_id is None:
        raise InvalidInput("a root stays a root", errors={"parent_id": ["cannot move a root"]})
    # Everything below the place sits below it already, so checking the place suffices.
    check_child_level(parent.place_level, place.place_level)
    old_prefix, new_prefix = place.path, f"{parent.path}{place.id}/"
    # The subtree moves whole: its deepest place must still be within the limit.
    slashes = func.length(Place.path) - func.length(func.replace(Place.path, "/", ""))
    deepest = session.scalar(select(func.max(slashes)).where(Place.path.startswith(old_prefix)))
    below = (deepest or 0) - 1 - depth_of(old_prefix)
    check_depth(depth_of(new_prefix) + below)
    # One statement rewrites the whole subtree's paths, so readers never see half a move.
    session.execute(
        update(Place)
        .where(Place.path.startswith(old_prefix))
        .values(path=new_prefix + func.substr(Place.path, len(old_prefix) + 1))
        .execution_options(synchronize_session=False)
    )
    place.parent_id = parent.id
