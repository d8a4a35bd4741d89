import pytest

from points.errors import InvalidInput
from points.places import PlaceLevel, ancestor_ids, check_child_level, child_path

LEVELS = list(PlaceLevel)


@pytest.mark.parametrize("parent", LEVELS)
@pytest.mark.parametrize("child", LEVELS)
def test_a_child_sits_strictly_below_its_parent(parent: PlaceLevel, child: PlaceLevel) -> None:
    if LEVELS.index(child) > LEVELS.index(parent):
        check_child_level(parent, child)
    else:
        with pytest.raises(InvalidInput) as raised:
            check_child_level(parent, child)
        assert raised.value.code == "invalid_input"
        assert "level" in raised.value.errors


def test_any_level_may_be_a_root() -> None:
    for level in PlaceLevel:
        check_child_level(None, level)


def test_paths_list_ancestors_root_first() -> None:
    root = child_path(None, 1)
    community = child_path(child_path(root, 2), 20)
    assert root == "/1/"
    assert community == "/1/2/20/"
    assert ancestor_ids(community) == [1, 2, 20]
