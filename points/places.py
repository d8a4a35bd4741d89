"""The place tree (街道 → 社区 → 网格 → 楼栋) and the order of its levels."""

from __future__ import annotations

from enum import StrEnum

from points.errors import InvalidInput


class PlaceLevel(StrEnum):
    DISTRICT = "district"  # 区
    STREET = "street"  # 街道 / 镇
    COMMUNITY = "community"  # 社区 / 村
    GRID = "grid"  # 网格 / 小区
    BUILDING = "building"  # 楼栋

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {level: rank for rank, level in enumerate(PlaceLevel)}


def check_child_level(parent: PlaceLevel | None, child: PlaceLevel) -> None:
    """A child sits strictly below its parent; levels may be skipped (a village
    with no grids has buildings straight under it)."""
    if parent is not None and child.rank <= parent.rank:
        raise InvalidInput(
            f"a {child.value} cannot sit under a {parent.value}",
            errors={"level": [f"must be below {parent.value}"]},
        )


def ancestor_ids(path: str) -> list[int]:
    """The ids on a materialised path such as ``/1/2/5/``, root first."""
    return [int(part) for part in path.strip("/").split("/") if part]


def child_path(parent_path: str | None, place_id: int) -> str:
    return f"{parent_path or '/'}{place_id}/"
