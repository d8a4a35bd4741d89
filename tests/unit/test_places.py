import pytest

from points.errors import InvalidInput
from points.places import (
    MAX_DEPTH,
    PlaceLevel,
    ancestor_ids,
    check_child_level,
    check_depth,
    child_path,
    depth_of,
    nearest,
)

LEVELS = list(PlaceLevel)


def fits(parent: PlaceLevel | None, child: PlaceLevel) -> bool:
    try:
        check_child_level(parent, child)
    except InvalidInput:
        return False
    return True


@pytest.mark.parametrize("parent", LEVELS)
@pytest.mark.parametrize("child", LEVELS)
def test_a_child_sits_at_its_parents_tier_or_below(parent: PlaceLevel, child: PlaceLevel) -> None:
    assert fits(parent, child) is (child.rank >= parent.rank)


def test_the_tiers_run_from_the_district_down_to_the_unit() -> None:
    tiers = {level.value: level.rank for level in PlaceLevel}
    assert tiers == {
        "district": 0,
        "street": 1,
        "community": 2,
        "estate": 3,
        "natural_village": 3,
        "grid": 3,
        "building": 4,
        "unit": 5,
    }


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        (PlaceLevel.DISTRICT, PlaceLevel.DISTRICT),  # a city's districts
        (PlaceLevel.GRID, PlaceLevel.GRID),  # 微网格
        (PlaceLevel.ESTATE, PlaceLevel.GRID),  # a large estate of several grids
        (PlaceLevel.GRID, PlaceLevel.ESTATE),  # a grid of several small estates
        (PlaceLevel.COMMUNITY, PlaceLevel.NATURAL_VILLAGE),
        (PlaceLevel.BUILDING, PlaceLevel.UNIT),
        (PlaceLevel.COMMUNITY, PlaceLevel.BUILDING),  # a village with no grids
    ],
)
def test_what_real_trees_draw_fits(parent: PlaceLevel, child: PlaceLevel) -> None:
    assert fits(parent, child)


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        (PlaceLevel.COMMUNITY, PlaceLevel.STREET),
        (PlaceLevel.GRID, PlaceLevel.COMMUNITY),
        (PlaceLevel.UNIT, PlaceLevel.BUILDING),
        (PlaceLevel.BUILDING, PlaceLevel.ESTATE),
    ],
)
def test_nothing_sits_above_its_parent(parent: PlaceLevel, child: PlaceLevel) -> None:
    assert not fits(parent, child)


def test_a_refusal_names_the_level() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_child_level(PlaceLevel.GRID, PlaceLevel.COMMUNITY)
    assert refused.value.code == "invalid_input"
    assert refused.value.errors == {"level": ["must not be above grid"]}


def test_any_level_may_be_a_root() -> None:
    assert all(fits(None, level) for level in PlaceLevel)


def test_a_tree_goes_as_deep_as_the_limit_and_no_further() -> None:
    path = None
    for place_id in range(1, MAX_DEPTH + 1):
        path = child_path(path, 1_000_000_000 + place_id)  # ids of ten digits
    assert path is not None
    assert depth_of(path) == MAX_DEPTH
    assert len(path) <= 512  # what Place.path holds
    check_depth(MAX_DEPTH)
    with pytest.raises(InvalidInput) as refused:
        check_depth(MAX_DEPTH + 1)
    assert refused.value.errors == {"parent_id": [f"would be {MAX_DEPTH + 1} levels deep"]}


def test_the_nearest_level_is_the_deepest_one_at_or_above() -> None:
    chain = [
        PlaceLevel.STREET,
        PlaceLevel.COMMUNITY,
        PlaceLevel.ESTATE,
        PlaceLevel.GRID,
        PlaceLevel.GRID,  # a micro-grid
        PlaceLevel.BUILDING,
    ]
    assert nearest(chain, PlaceLevel.GRID) == 4
    assert nearest(chain, PlaceLevel.COMMUNITY) == 1
    assert nearest(chain, PlaceLevel.UNIT) is None
    assert nearest(chain[:2], PlaceLevel.COMMUNITY) == 1  # the place itself


def test_paths_list_ancestors_root_first() -> None:
    root = child_path(None, 1)
    community = child_path(child_path(root, 2), 20)
    assert root == "/1/"
    assert community == "/1/2/20/"
    assert ancestor_ids(community) == [1, 2, 20]
    assert depth_of(community) == 3
