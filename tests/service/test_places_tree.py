import pytest
from sqlalchemy.orm import Session

from points.errors import InvalidInput
from points.places import PlaceLevel
from service.places.admin import list_places
from service.places.models import Place
from service.places.tree import add_place, find_child
from service.unit_of_work import UnitOfWork


def subtree(session: Session, root: Place) -> list[Place]:
    """What `GET /places?under=` reads: the tree by path prefix."""
    return list_places(session, under=root.id, limit=100)


def test_subtree_is_a_prefix_match_that_respects_id_boundaries(uow: UnitOfWork) -> None:
    session = uow.session
    street = add_place(session, None, "街道", PlaceLevel.STREET)
    first = add_place(session, street, "一社区", PlaceLevel.COMMUNITY)
    grid = add_place(session, first, "一网格", PlaceLevel.GRID)
    # Enough siblings that one id is a string prefix of another (2 and 20…).
    others = [add_place(session, street, f"社区{n}", PlaceLevel.COMMUNITY) for n in range(12)]
    uow.commit()

    assert grid.path == f"/{street.id}/{first.id}/{grid.id}/"
    assert [p.id for p in subtree(session, first)] == [first.id, grid.id]
    assert {p.id for p in subtree(session, street)} == {street.id, first.id, grid.id} | {
        o.id for o in others
    }


def test_a_place_cannot_sit_above_its_parent_and_nothing_is_written(uow: UnitOfWork) -> None:
    community = add_place(uow.session, None, "社区", PlaceLevel.COMMUNITY)
    uow.commit()
    with uow, pytest.raises(InvalidInput):
        add_place(uow.session, community, "街道", PlaceLevel.STREET)
    assert uow.session.query(Place).count() == 1
    assert find_child(uow.session, community, "街道") is None
