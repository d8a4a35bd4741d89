"""Real concurrency, on both backends: many sessions racing for one balance or one key."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
from flask import Flask
from sqlalchemy import func, select

from api import extensions
from points.errors import DomainError
from service.ledger.accounts import member_account
from service.ledger.models import Transfer
from service.ledger.posting import post
from service.ledger.reversals import reverse
from service.ledger.verify import verify
from service.people.models import User
from service.unit_of_work import UnitOfWork
from tests.all_at_once import all_at_once
from tests.conftest import AppFactory
from tests.ledger_helpers import credit, spend_request

T = TypeVar("T")


def race(app: Flask, count: int, action: Callable[[object], T]) -> list[T | DomainError]:
    """Run ``action(session)`` in ``count`` threads released at the same instant, each
    in a unit of work as a use case would be (on SQLite that takes the write lock)."""

    def worker(index: int, go: Callable[[], None]) -> T | DomainError:
        with app.app_context():
            session = extensions.session()
            go()
            with UnitOfWork(session) as uow:
                try:
                    result = action(session)
                    uow.commit()
                    return result
                except DomainError as error:
                    return error

    return all_at_once(count, worker, timeout=60)


@pytest.fixture
def racing_app(make_app: AppFactory) -> Flask:
    return make_app(db_pool_size=30)


def member_with(app: Flask, amount: int) -> int:
    with app.app_context():
        session = extensions.session()
        user = User(name="李建国")
        session.add(user)
        session.flush()
        credit(session, user.id, "xingfubi", amount)
        return user.id


def balance(app: Flask, user_id: int) -> tuple[int, int]:
    with app.app_context():
        account = member_account(extensions.session(), user_id, "xingfubi")
        return account.credits_posted - account.debits_posted, account.debits_pending


def test_fifty_spends_against_one_balance_never_overdraw(racing_app: Flask) -> None:
    user_id = member_with(racing_app, 100)
    results = race(
        racing_app,
        50,
        lambda session: post(
            session,
            spend_request(session, user_id, 30, f"spend:{id(session)}:{threading.get_ident()}"),
        ),  # type: ignore[arg-type]
    )
    succeeded = [r for r in results if not isinstance(r, DomainError)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(succeeded) == 3
    assert {error.code for error in refused} == {"insufficient_balance"}
    assert balance(racing_app, user_id) == (10, 0)
    with racing_app.app_context():
        assert verify(extensions.session()).clean


def test_fifty_holds_against_one_balance(racing_app: Flask) -> None:
    user_id = member_with(racing_app, 100)
    results = race(
        racing_app,
        50,
        lambda session: post(
            session,
            spend_request(session, user_id, 30, f"hold:{threading.get_ident()}", pending=True),
        ),  # type: ignore[arg-type]
    )
    assert sum(not isinstance(r, DomainError) for r in results) == 3
    assert balance(racing_app, user_id) == (100, 90)


def test_the_same_key_twenty_times_at_once_moves_points_once(racing_app: Flask) -> None:
    user_id = member_with(racing_app, 100)
    results = race(
        racing_app,
        20,
        lambda session: post(session, spend_request(session, user_id, 30, "one-key")).id,  # type: ignore[arg-type]
    )
    assert all(not isinstance(r, DomainError) for r in results), results
    assert len(set(results)) == 1
    assert balance(racing_app, user_id) == (70, 0)
    with racing_app.app_context():
        count = extensions.session().scalar(
            select(func.count()).select_from(Transfer).where(Transfer.idempotency_key == "one-key")
        )
        assert count == 1


def test_ten_reversals_of_one_transfer_reverse_it_once(racing_app: Flask) -> None:
    user_id = member_with(racing_app, 100)
    with racing_app.app_context():
        original = credit(extensions.session(), user_id, "xingfubi", 40).id
    race(
        racing_app,
        10,
        lambda session: reverse(session, original, actor_id=None, reason="twice?"),  # type: ignore[arg-type]
    )
    assert balance(racing_app, user_id) == (100, 0)
    with racing_app.app_context():
        reversals = extensions.session().scalar(
            select(func.count()).select_from(Transfer).where(Transfer.reverses_id == original)
        )
        assert reversals == 1
        assert verify(extensions.session()).clean


def test_a_retry_after_a_lost_response_finds_the_first_transfer(racing_app: Flask) -> None:
    user_id = member_with(racing_app, 100)
    with racing_app.app_context():
        session = extensions.session()
        first = post(session, spend_request(session, user_id, 30, "lost-response"))
        session.commit()  # committed, then the connection to the phone dropped
        again = post(session, spend_request(session, user_id, 30, "lost-response"))
        session.commit()
        assert again.id == first.id
    assert balance(racing_app, user_id) == (70, 0)


def test_the_same_work_credited_twenty_times_at_once_credits_once(racing_app: Flask) -> None:
    from datetime import UTC, date, datetime

    from points.access import Role
    from points.places import PlaceLevel
    from points.rules import EarningEvent, Facts, TaskType, WorkUnit, starter_rule_set
    from service.places.tree import add_place
    from service.rules.crediting import Work, credit_work
    from service.rules.models import RuleSetVersion

    with racing_app.app_context():
        session = extensions.session()
        street = add_place(session, None, "街道", PlaceLevel.STREET)
        session.add(
            RuleSetVersion(
                place_id=street.id,
                version=1,
                status="published",
                effective_from=date(2026, 1, 1),
                content=starter_rule_set(),
            )
        )
        member = User(name="张秀英", residence_place_id=street.id)
        session.add(member)
        session.commit()
        work = Work(
            source="participation:812",
            user_id=member.id,
            place_id=street.id,
            done_at=datetime(2026, 11, 20, 6, tzinfo=UTC),
            actor_id=None,
            facts=Facts(
                event=EarningEvent.TASK_COMPLETED,
                role=Role.MEMBER,
                task_type=TaskType.DOOR_KNOCK,
                units=3,
                work_unit=WorkUnit.HOUSEHOLDS,
            ),
        )
        member_id = member.id

    now = datetime(2026, 11, 20, 6, tzinfo=UTC)
    results = race(
        racing_app,
        20,
        lambda session: sorted(t.id for t in credit_work(session, work, now).transfers),
    )  # type: ignore[arg-type]
    assert all(not isinstance(r, DomainError) for r in results), results
    assert len({tuple(r) for r in results}) == 1  # type: ignore[arg-type]
    with racing_app.app_context():
        session = extensions.session()
        assert (
            session.scalar(
                select(func.count())
                .select_from(Transfer)
                .where(Transfer.source == "participation:812")
            )
            == 2
        )
        account = member_account(session, member_id, "jifen")
        assert account.credits_posted == 5 + 2 * 3
        assert verify(session).clean


def test_a_hundred_sign_ups_for_ten_places_fill_exactly_ten(racing_app: Flask) -> None:
    from datetime import UTC, datetime, timedelta

    from points.access import Role, ScopeType
    from points.places import PlaceLevel
    from service.access import load_actor
    from service.people.directory import ensure_grant
    from service.places.tree import add_place
    from service.tasks.models import Participation, Task
    from service.tasks.signups import sign_up

    with racing_app.app_context():
        session = extensions.session()
        street = add_place(session, None, "街道", PlaceLevel.STREET)
        community = add_place(session, street, "社区", PlaceLevel.COMMUNITY)
        people = []
        for n in range(100):
            user = User(name=f"志愿者{n}", residence_place_id=community.id)
            session.add(user)
            session.flush()
            ensure_grant(session, user, Role.VOLUNTEER, ScopeType.PLACE, community.id)
            people.append(user.id)
        starts = datetime.now(UTC) + timedelta(days=1)
        task = Task(
            place_id=community.id,
            title="清理河道",
            category="environment",
            type="cleanup",
            lat=39.9,
            lng=116.4,
            radius_m=200,
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            capacity=10,
            audience="everyone",
            checkin_mode="geofence",
            work_unit="hours",
            status="published",
            created_by_id=people[0],
        )
        session.add(task)
        session.commit()
        task_id = task.id
        actors = [load_actor(session, user_id) for user_id in people]

    turn = iter(actors)
    lock = threading.Lock()

    def next_actor() -> object:
        with lock:
            return next(turn)

    now = datetime.now(UTC)
    results = race(
        racing_app,
        100,
        lambda session: sign_up(extensions.unit_of_work(), next_actor(), task_id, now).id,
    )  # type: ignore[arg-type]
    assert sum(not isinstance(r, DomainError) for r in results) == 10
    assert {r.code for r in results if isinstance(r, DomainError)} == {"task_full"}
    with racing_app.app_context():
        session = extensions.session()
        assert session.get(Task, task_id).signed_up_count == 10  # type: ignore[union-attr]
        assert (
            session.scalar(
                select(func.count())
                .select_from(Participation)
                .where(Participation.task_id == task_id)
            )
            == 10
        )
