"""公示: the community's public list of demands done, for anyone, signed in or not.

It carries no personal identity: no reporter, no phone, no address or door, not even
the resident's own words; only the category, the grid it was in, and what staff wrote
for the public when they published it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.places import PlaceLevel, ancestor_ids
from service.demands.models import Demand
from service.moderation.text import held_subjects
from service.places.models import Place
from service.places.tree import named_place


@dataclass(frozen=True)
class PublicDemand:
    id: int
    category: str
    grid: str  # the grid it was in, or the place itself if above any grid
    summary: str
    resolved_at: datetime | None
    published_at: datetime | None  # never None here: the WHERE asks for it
    rating: int | None  # the resident's score, once they gave one


def public_demands(
    session: Session,
    place_id: int,
    now: datetime,
    days: int,
    limit: int,
    before_id: int | None = None,
) -> list[PublicDemand]:
    """Published in the last ``days`` days in the subtree of ``place_id``, newest first."""
    place = named_place(session, place_id)
    query = (
        select(Demand, Place.path, Place.name, Place.level)
        .join(Place, Place.id == Demand.place_id)
        .where(
            Place.path.startswith(place.path),
            Demand.published_at.is_not(None),
            Demand.published_at >= now - timedelta(days=days),
            # Held by the content check: off the public list until staff release it.
            Demand.id.not_in(held_subjects("demand")),
        )
        .order_by(Demand.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Demand.id < before_id)
    rows = session.execute(query).all()
    grids = _grid_names(session, {path for _, path, _, level in rows if level != "grid"})
    return [
        PublicDemand(
            id=demand.id,
            category=demand.category,
            grid=name if level == PlaceLevel.GRID.value else grids.get(path, name),
            summary=demand.public_summary or "",
            resolved_at=demand.resolved_at,
            published_at=demand.published_at,
            rating=demand.rating.score if demand.rating is not None else None,
        )
        for demand, path, name, level in rows
    ]


def _grid_names(session: Session, paths: set[str]) -> dict[str, str]:
    """For places below a grid (a building, a unit, a micro-grid's estate…), the name of
    the nearest grid above them, by their path; a place with no grid above is left out."""
    wanted = {path: ancestor_ids(path) for path in paths}
    ids = {place_id for chain in wanted.values() for place_id in chain}
    if not ids:
        return {}
    grids = dict(
        session.execute(
            select(Place.id, Place.name).where(
                Place.id.in_(ids), Place.level == PlaceLevel.GRID.value
            )
        ).all()
    )
    found = {}
    for path, chain in wanted.items():
        nearest_grid = next((i for i in reversed(chain) if i in grids), None)
        if nearest_grid is not None:
            found[path] = grids[nearest_grid]
    return found
