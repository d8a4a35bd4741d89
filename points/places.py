"""The place tree (区 → 街道 → 社区 → 小区 → 网格 → 楼栋 → 单元 …) and the order of its
levels.

A tree has no fixed depth. A place's level is one of the well-known levels below, each
at a tier; a child sits at its parent's tier or below it, never above. Levels may be
skipped (a village with no grids has buildings straight under it), and a tier may
repeat: a city and its districts are both districts, a micro-grid (微网格) is a grid in
a grid, and 小区, 自然村 and 网格 share a tier because either may hold the other
(a grid of several small estates, a large estate of several grids).

The code that asks for "the community" or "the grid" of a place takes the nearest one
at or above it.
"""

from __future__ import annotations

from enum import StrEnum

from points.errors import InvalidInput

# Deep enough for any tree a city or county draws, and short enough that a path of
# ids (each at most 10 digits and a slash) fits the 512 characters stored.
MAX_DEPTH = 32


class PlaceLevel(StrEnum):
    DISTRICT = "district"  # 区 / 县; a city above them is a district too
    STREET = "street"  # 街道 / 镇 / 乡
    COMMUNITY = "community"  # 社区 / 村 (行政村)
    ESTATE = "estate"  # 小区
    NATURAL_VILLAGE = "natural_village"  # 自然村 / 村民小组
    GRID = "grid"  # 网格 (and 微网格 inside one)
    BUILDING = "building"  # 楼栋
    UNIT = "unit"  # 单元

    @property
    def rank(self) -> int:
        """The level's tier: 0 at the top; a child's is the same or higher."""
        return _RANKS[self]


_RANKS = {
    PlaceLevel.DISTRICT: 0,
    PlaceLevel.STREET: 1,
    PlaceLevel.COMMUNITY: 2,
    PlaceLevel.ESTATE: 3,
    PlaceLevel.NATURAL_VILLAGE: 3,
    PlaceLevel.GRID: 3,
    PlaceLevel.BUILDING: 4,
    PlaceLevel.UNIT: 5,
}


def check_child_level(parent: PlaceLevel | None, child: PlaceLevel) -> None:
    """A child sits at its parent's tier or below it, never above."""
    if parent is not None and child.rank < parent.rank:
        raise InvalidInput(
            f"a {child.value} cannot sit under a {parent.value}",
            errors={"level": [f"must not be above {parent.value}"]},
        )


def check_depth(depth: int, field: str = "parent_id") -> None:
    """A place ``depth`` levels down (a root is 1) is within MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise InvalidInput(
            f"the place tree is at most {MAX_DEPTH} levels deep",
            errors={field: [f"would be {depth} levels deep"]},
        )


def depth_of(path: str) -> int:
    """How deep a place sits: 1 for a root (``/1/``)."""
    return len(ancestor_ids(path))


def ancestor_ids(path: str) -> list[int]:
    """The ids on a materialised path such as ``/1/2/5/``, root first."""
    return [int(part) for part in path.strip("/").split("/") if part]


def child_path(parent_path: str | None, place_id: int) -> str:
    return f"{parent_path or '/'}{place_id}/"


def nearest(levels: list[PlaceLevel], wanted: PlaceLevel) -> int | None:
    """Of a place's levels from the root down to itself, the index of the nearest one
    at ``wanted`` (the place's own community, its own grid); None if none is."""
    for index in range(len(levels) - 1, -1, -1):
        if levels[index] is wanted:
            return index
    return None
