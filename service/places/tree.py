"""Adding and finding places."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.errors import NotFound
from points.places import PlaceLevel, check_child_level, check_depth, child_path, depth_of
from service.places.models import Place


def named_place(session: Session, place_id: int, field: str = "org_id") -> Place:
    """The place a request names in ``field``; NotFound naming that field if none."""
    place = session.get(Place, place_id)
    if place is None:
        raise NotFound("place not found", errors={field: ["no such place"]})
    return place


def find_child(session: Session, parent: Place | None, name: str) -> Place | None:
    under = Place.parent_id.is_(None) if parent is None else Place.parent_id == parent.id
    return session.scalars(select(Place).where(under, Place.name == name)).one_or_none()


def add_place(session: Session, parent: Place | None, name: str, level: PlaceLevel) -> Place:
    check_child_level(parent.place_level if parent is not None else None, level)
    check_depth(depth_of(parent.path) + 1 if parent is not None else 1)
    place = Place(parent_id=parent.id if parent else None, name=name, level=level.value)
    session.add(place)
    session.flush()  # the path holds the node's own id
    place.path = child_path(parent.path if parent else None, place.id)
    session.flush()
    return place
