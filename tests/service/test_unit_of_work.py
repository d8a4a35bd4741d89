import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from points.places import PlaceLevel
from service.db import commit_each_statement
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


def test_commit_each_statement_lasts_until_the_transaction_ends(uow: UnitOfWork) -> None:
    on_postgres = uow.session.get_bind().dialect.name == "postgresql"
    with uow:
        commit_each_statement(uow.session)
        add_place(uow.session, None, "街道", PlaceLevel.STREET)
    # Never committed: on PostgreSQL the INSERT committed alone; SQLite kept its transaction.
    assert count(uow) == (1 if on_postgres else 0)
    with uow:
        add_place(uow.session, None, "另一街道", PlaceLevel.STREET)
    # The next unit of work has its transaction back, on both: rolled back.
    assert count(uow) == (1 if on_postgres else 0)


def test_commit_each_statement_refuses_a_transaction_already_begun(uow: UnitOfWork) -> None:
    with uow:
        count(uow)
        with pytest.raises(RuntimeError, match="before the first statement"):
            commit_each_statement(uow.session)


def test_a_unit_of_work_after_a_read_writes_though_another_writer_committed_between(
    uow: UnitOfWork,
) -> None:
    # On SQLite a deferred transaction that read, then writes after another writer
    # committed, fails at once with "database is locked"; the unit of work ends the
    # read and takes the write lock first. PostgreSQL is shown the same.
    count(uow)  # the caller's account, read before the use case: a transaction is open
    with Session(uow.session.get_bind()) as other:
        add_place(other, None, "别的街道", PlaceLevel.STREET)
        other.commit()
    with uow:
        add_place(uow.session, None, "街道", PlaceLevel.STREET)
        uow.commit()
    assert count(uow) == 2
