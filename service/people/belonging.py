"""Where a person belongs: the places whose tasks and demands concern them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.places import PlaceLevel, ancestor_ids, child_path, nearest
from service.db import runs_on
from service.organisation.models import Branch, Pairing
from service.people.models import User
from service.places.models import Place
from service.places.tree import named_place


def home_places(session: Session, user_id: int, today: date) -> tuple[list[str], set[str]]:
    """Where a person's tasks are on a local day: their community, their branch's place,
    and the communities their department is paired with that day (双报到); and every
    place above those, whose tasks (a street's, say) concern them too."""
    user = session.get(User, user_id)
    prefixes: list[str] = []
    if user is None:
        return prefixes, set()
    if user.residence_place_id is not None:
        residence = named_place(session, user.residence_place_id)
        prefixes.append(_community_path(session, residence))
    branch = session.get(Branch, user.home_branch_id) if user.home_branch_id else None
    if branch is not None and branch.place_id is not None:
        prefixes.append(named_place(session, branch.place_id).path)
    # Asked of every branch, not only of those without a place: pairings are the
    # department's (百部联百村), whatever else its branch has. Today a branch has one
    # owner (CHECK one_owner), so a community's branch has no department to ask.
    if branch is not None and branch.department_id is not None:
        prefixes += session.scalars(
            select(Place.path)
            .join(Pairing, Pairing.place_id == Place.id)
            .where(
                Pairing.department_id == branch.department_id,
                runs_on(Pairing.started_on, Pairing.ended_on, today),
            )
        ).all()
    above = {path for prefix in prefixes for path in _paths_above(prefix)}
    return prefixes, above


def _community_path(session: Session, residence: Place) -> str:
    """The path of the nearest community at or above where one lives, however deep the
    tree (a unit of a building of a grid of an estate…); the residence's own path if no
    community is above it."""
    above = dict(
        session.execute(
            select(Place.id, Place.level).where(Place.id.in_(ancestor_ids(residence.path)))
        ).all()
    )
    chain = ancestor_ids(residence.path)
    found = nearest([PlaceLevel(above[place_id]) for place_id in chain], PlaceLevel.COMMUNITY)
    if found is None:
        return residence.path
    return "/" + "".join(f"{place_id}/" for place_id in chain[: found + 1])


def _paths_above(path: str) -> list[str]:
    ids = ancestor_ids(path)
    paths, current = [], None
    for place_id in ids[:-1]:
        current = child_path(current, place_id)
        paths.append(current)
    return paths
