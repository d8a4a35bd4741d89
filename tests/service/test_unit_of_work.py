from sqlalchemy import func, select
from sqlalchemy.orm import Session

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


def test_after_commit_steps_run_once_committed_and_cannot_undo_it(uow: UnitOfWork) -> None:
    seen: list[int] = []

    def count_places(session: Session) -> None:
        seen.append(session.scalar(select(func.count()).select_from(Place)) or 0)

    def broken(session: Session) -> None:
        raise RuntimeError("Redis fell over")

    hooked = UnitOfWork(uow.session, after_commit=(broken, count_places))
    with hooked:
        add_place(hooked.session, None, "街道", PlaceLevel.STREET)
        hooked.commit()  # the broken step is logged, not raised
    assert seen == [1]
    assert count(uow) == 1
