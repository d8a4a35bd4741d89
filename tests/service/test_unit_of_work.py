from sqlalchemy import func, select

from points.places import PlaceLevel
from service.places.models import Place
from service.places.tree import add_place
from service.unit_of_work import UnitOfWork


def count(uow: UnitOfWork) -> int:
    return uow.session.scalar(select(func.count()).select_from(Place)) or 0


def test_work_without_commit_is_rolled_back(uow: UnitOfWork) -> None:
    with uow:
        add_place(uow.session, None, "草稿街道", PlaceLevel.STREET)
    assert count(uow) == 0


def test_committed_work_stays(uow: UnitOfWork) -> None:
    with uow:
        add_place(uow.session, None, "街道", PlaceLevel.STREET)
        uow.commit()
    assert count(uow) == 1


def test_an_error_inside_rolls_back(uow: UnitOfWork) -> None:
    try:
        with uow:
            add_place(uow.session, None, "街道", PlaceLevel.STREET)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert count(uow) == 0
