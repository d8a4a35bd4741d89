"""The waitlist under real concurrency, on both backends: fifty cancellations and
confirmations at once never put more people on a task than its capacity, and every
loser gets a clean conflict."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from api import extensions
from points.errors import DomainError
from service.access import load_actor
from service.auth.tokens import issue_access_token
from service.db import utcnow
from service.tasks.models import Participation, Task
from service.tasks.signups import cancel_sign_up, confirm_offer, sign_up
from service.unit_of_work import UnitOfWork
from tests.all_at_once import all_at_once
from tests.conftest import AppFactory
from tests.integration.test_task_edit_races import community, racing

CAPACITY = 30


def _seat_holders(app: Flask, task_id: int) -> tuple[dict[str, int], Task]:
    with app.app_context():
        session = extensions.session()
        counts = dict(
            session.execute(
                select(Participation.status, func.count())
                .where(Participation.task_id == task_id)
                .group_by(Participation.status)
            ).all()
        )
        task = session.get(Task, task_id)
        assert task is not None
        session.expunge(task)
        return {str(k): int(v) for k, v in counts.items()}, task


def line_up(app: Flask) -> tuple[int, list[int], dict[int, int]]:
    """Eighty sign up for thirty places, then 25 of the seated leave: 5 seated, 25
    offered, 25 still in line. The task, the members in sign-up order, and each one's
    participation."""
    ids = community(app, 80)
    task_id = int(str(ids["task"]))
    members: list[int] = list(ids["members"])  # type: ignore[call-overload]
    now = utcnow()
    participation: dict[int, int] = {}
    with app.app_context():
        session = extensions.session()
        task = session.get(Task, task_id)
        assert task is not None
        task.capacity = CAPACITY
        session.commit()
        uow = extensions.unit_of_work()
        for n, member in enumerate(members):
            # One second apart: the order of the line is the order of sign-up.
            done = sign_up(
                uow, load_actor(session, member), task_id, now + timedelta(seconds=n), waitlist=True
            )
            participation[member] = done.id
        for member in members[:25]:
            cancel_sign_up(uow, load_actor(session, member), participation[member], now)
    counts, task = _seat_holders(app, task_id)
    assert counts == {"cancelled": 25, "signed_up": 5, "offered": 25, "waitlisted": 25}
    assert task.signed_up_count == CAPACITY
    return task_id, members, participation


def racers_for(members: list[int]) -> list[tuple[str, int]]:
    """25 confirm their offers, the 5 seated cancel (their seats go to the line) and 20
    leave the line while it moves: fifty at once."""
    racers = [("confirm", m) for m in members[30:55]]
    racers += [("cancel", m) for m in members[25:30]]
    racers += [("cancel", m) for m in members[55:75]]
    assert len(racers) == 50
    return racers


def check_outcome(app: Flask, task_id: int, results: list[object]) -> None:
    """Whatever won, the task holds exactly its capacity and each leaver is counted once
    (``results`` in racer order: statuses, or HTTP status codes)."""
    counts, task = _seat_holders(app, task_id)
    holders = counts.get("signed_up", 0) + counts.get("offered", 0)
    # Five seats freed and at least five people stayed in line: all thirty are held.
    assert holders == task.signed_up_count == task.capacity == CAPACITY
    assert counts.get("signed_up", 0) == 25
    left = sum(1 for r in results[30:] if r in ("cancelled", 200))
    assert counts["cancelled"] == 25 + 5 + left
    assert counts.get("waitlisted", 0) == 25 - left - counts.get("offered", 0)


def test_fifty_cancellations_and_confirmations_at_once_never_overfill(
    make_app: AppFactory,
) -> None:
    app = make_app(db_pool_size=55)
    task_id, members, participation = line_up(app)
    racers = racers_for(members)

    def step(uow: UnitOfWork, index: int) -> object:
        action, member = racers[index]
        actor = load_actor(uow.session, member)
        use = confirm_offer if action == "confirm" else cancel_sign_up
        return use(uow, actor, participation[member], utcnow()).status

    results = racing(app, 50, step)
    errors = [r for r in results if isinstance(r, DomainError)]
    # A member leaving the line who was offered a seat a moment before finds it changed.
    assert {error.code for error in errors} <= {"participation_changed"}
    assert results[:25] == ["signed_up"] * 25  # every offer was confirmed
    assert results[25:30] == ["cancelled"] * 5
    check_outcome(app, task_id, results)


def test_the_same_race_over_http_answers_200_or_409_never_500(make_app: AppFactory) -> None:
    app = make_app(db_pool_size=55)
    task_id, members, participation = line_up(app)
    racers = racers_for(members)
    with app.app_context():
        secret = extensions.settings().secret_key
        tokens = {
            member: issue_access_token(
                secret, user_id=member, token_version=0, family=f"fam-{member}", now=utcnow()
            )
            for _, member in racers
        }

    def worker(index: int, go: Callable[[], None]) -> object:
        action, member = racers[index]
        client = app.test_client()
        path = f"/api/v1/participations/{participation[member]}/{action}"
        headers = {"Authorization": f"Bearer {tokens[member]}"}
        go()
        response = client.post(path, headers=headers)
        return response.status_code, response.get_json()

    answers = all_at_once(50, worker, timeout=60)
    statuses = [status for status, _ in answers]  # type: ignore[misc]
    assert set(statuses) <= {200, 409}, answers
    assert {body["code"] for status, body in answers if status == 409} <= {  # type: ignore[misc]
        "participation_changed"
    }
    assert statuses[:30] == [200] * 30
    check_outcome(app, task_id, statuses)


def test_one_person_signing_up_again_ten_times_at_once_takes_one_seat(
    make_app: AppFactory,
) -> None:
    """After withdrawing, the same member's ten taps at once bring the one participation
    back once: one seat, and the rest hear they are signed up already."""
    app = make_app(db_pool_size=15)
    ids = community(app, 1)
    task_id = int(str(ids["task"]))
    [member] = list(ids["members"])  # type: ignore[call-overload]
    with app.app_context():
        session = extensions.session()
        uow = extensions.unit_of_work()
        done = sign_up(uow, load_actor(session, member), task_id, utcnow())
        cancel_sign_up(uow, load_actor(session, member), done.id, utcnow())

    def step(uow: UnitOfWork, index: int) -> object:
        return sign_up(uow, load_actor(uow.session, member), task_id, utcnow()).status

    results = racing(app, 10, step)
    assert results.count("signed_up") == 1
    assert {r.code for r in results if isinstance(r, DomainError)} == {"already_signed_up"}
    counts, task = _seat_holders(app, task_id)
    assert (counts, task.signed_up_count) == ({"signed_up": 1}, 1)
