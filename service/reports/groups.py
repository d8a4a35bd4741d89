"""Who and where a report counts, as small SELECTs every figure joins to.

Each row carries ``grp``, the key of the group it counts for: 0 for a summary, the
child place or the branch for a league table. So a summary and a league table run the
same statements, and a league of twenty communities is still one GROUP BY per figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, literal, select
from sqlalchemy.orm import aliased

from service.organisation.models import Department
from service.people.models import User
from service.places.models import Place

SUMMARY = 0  # the one group of a summary

# Two columns: an id (user, place or department) and the group it counts for.
Keyed = Select[Any, Any]


@dataclass(frozen=True)
class Groups:
    """A member's work counts for where they live and for their home branch (双报到):
    ``people`` is who (user_id, grp); ``places`` where tasks and demands are (place_id,
    grp), None where a scope has no place of its own; ``departments`` whose whistles
    (department_id, grp)."""

    keys: Sequence[int]
    people: Keyed
    places: Keyed | None = None
    departments: Keyed | None = None


def _summary_key() -> ColumnElement[int]:
    return literal(SUMMARY).label("grp")


def place_summary(place: Place) -> Groups:
    """The place and everything below it: its residents, its tasks and demands."""
    return Groups(
        keys=[SUMMARY],
        people=select(User.id.label("user_id"), _summary_key())
        .join(Place, Place.id == User.residence_place_id)
        .where(Place.path.startswith(place.path)),
        places=select(Place.id.label("place_id"), _summary_key()).where(
            Place.path.startswith(place.path)
        ),
    )


def place_children(parent: Place, children: Sequence[int]) -> Groups:
    """Each child of the place (a street's communities, a community's grids) as its own
    group: a resident counts for the child their home lies under."""
    child = aliased(Place, name="child")
    home = aliased(Place, name="home")
    under = and_(child.parent_id == parent.id, home.path.startswith(child.path))
    return Groups(
        keys=children,
        people=select(User.id.label("user_id"), child.id.label("grp"))
        .join(home, home.id == User.residence_place_id)
        .join(child, under),
        places=select(home.id.label("place_id"), child.id.label("grp")).join(child, under),
    )


def branch_members(branch_ids: Sequence[int], *, by_branch: bool) -> Keyed:
    """The members whose home branch is one of these; grouped by branch, or as one."""
    key = User.home_branch_id.label("grp") if by_branch else _summary_key()
    return select(User.id.label("user_id"), key).where(User.home_branch_id.in_(branch_ids))


def department_whistles(department_id: int) -> Keyed:
    return select(Department.id.label("department_id"), _summary_key()).where(
        Department.id == department_id
    )
