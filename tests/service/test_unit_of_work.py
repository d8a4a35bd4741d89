from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from points.places import PlaceLevel
from service.db import commit_each_statement
from service.places.models import Place
from service.places.tree import add_place
from service.unit_of_work import UnitOfWork, run_before_commit, transaction_cache


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


class Counting:
    def __init__(self) -> None:
        self.seen: list[tuple[int, list[object]]] = []

    def noticed_flush(self, uow: UnitOfWork) -> None:
        pass

    def committed(self, session: Session, events: Sequence[object]) -> None:
        self.seen.append((session.scalar(select(func.count()).select_from(Place)) or 0, events))


class Broken(Counting):
    def committed(self, session: Session, events: Sequence[object]) -> None:
        raise RuntimeError("Redis fell over")


def test_after_commit_steps_run_once_committed_and_cannot_undo_it(uow: UnitOfWork) -> None:
    counting = Counting()
    hooked = UnitOfWork(uow.session, consumers=(Broken(), counting))
    with hooked:
        add_place(hooked.session, None, "街道", PlaceLevel.STREET)
        hooked.record("a street")
        hooked.commit()  # the broken step is logged, not raised
    assert counting.seen == [(1, ["a street"])]
    assert count(uow) == 1


def test_events_recorded_in_a_savepoint_that_rolled_back_are_forgotten(uow: UnitOfWork) -> None:
    counting = Counting()
    hooked = UnitOfWork(uow.session, consumers=(counting,))
    with hooked:
        hooked.record("kept")
        savepoint = hooked.session.begin_nested()
        hooked.record("undone")
        savepoint.rollback()
        hooked.record("kept too")
        assert hooked.recorded(str) == ["kept", "kept too"]
        hooked.commit()
    with hooked:
        hooked.record("never committed")
    with hooked:
        hooked.commit()
    assert [events for _, events in counting.seen] == [["kept", "kept too"], []]
    assert UnitOfWork.of(hooked.session) is None


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


def test_a_before_commit_step_runs_once_last_and_the_parts_end_with_the_transaction(
    uow: UnitOfWork,
) -> None:
    ran: list[int] = []

    def last_statement(session: Session) -> None:
        ran.append(session.scalar(select(func.count()).select_from(Place)) or 0)

    with uow:
        transaction_cache(uow.session, "places")["street"] = 1
        run_before_commit(uow.session, "count", last_statement)
        run_before_commit(uow.session, "count", last_statement)  # asked twice, runs once
        add_place(uow.session, None, "街道", PlaceLevel.STREET)  # after the ask, before it runs
        uow.commit()
    assert ran == [1]
    assert transaction_cache(uow.session, "places") == {}  # a new transaction's cache

    with uow:
        run_before_commit(uow.session, "count", last_statement)
    with uow:
        uow.commit()  # the rolled-back transaction's step went with it
    assert ran == [1]


def test_a_unit_of_work_refused_at_the_door_leaves_no_trace(uow: UnitOfWork) -> None:
    session = uow.session
    options = session.execution_options
    add_place(session, None, "未提交的街道", PlaceLevel.STREET)  # written outside any unit of work
    if session.get_bind().dialect.name == "sqlite":
        # Taking the write lock would mean ending that transaction, and losing the write.
        with pytest.raises(RuntimeError, match="inside a transaction that wrote"):
            uow.__enter__()
        assert UnitOfWork.of(session) is None
        assert session.execution_options == options
    else:
        with uow:  # PostgreSQL's row locks need no lock up front: the work joins in
            assert UnitOfWork.of(session) is uow
            uow.commit()
        assert UnitOfWork.of(session) is None
    session.rollback()
