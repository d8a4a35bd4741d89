"""The waitlist under real concurrency, on both backends: fifty cancellations and
confirmations at once never put more people on a task than its capacity, and every
loser gets a clean conflict."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from api import extensions
from points.errors import DomainError
from service.access import load_actor
from service.db import utcnow
from service.tasks.models import Participation, Task
from service.tasks.signups import cancel_sign_up, confirm_offer, sign_up
from service.unit_of_work import UnitOfWork
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


def test_fifty_cancellations_and_confirmations_at_once_never_overfill(
    make_app: AppFactory,
) -> None:
    app = make_app(db_pool_size=55)
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
            done = sign_up(uow, load_actor(session, member), task_id, now + timedelta(seconds=n))
            participation[member] = done.id
        # 25 of the 30 seated leave: the first 25 in line are offered their seats.
        for member in members[:25]:
            cancel_sign_up(uow, load_actor(session, member), participation[member], now)
    counts, task = _seat_holders(app, task_id)
    assert counts == {"cancelled": 25, "signed_up": 5, "offered": 25, "waitlisted": 25}
    assert task.signed_up_count == CAPACITY

    offered = members[30:55]  # confirm
    seated = members[25:30]  # cancel: their seats go to the line
    leaving = members[55:75]  # leave the line while it moves
    racers = [*(("confirm", m) for m in offered), *(("cancel", m) for m in seated)]
    racers += [("cancel", m) for m in leaving]
    assert len(racers) == 50

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
    counts, task = _seat_holders(app, task_id)
    holders = counts.get("signed_up", 0) + counts.get("offered", 0)
    # Five seats freed and at least five people stayed in line: all thirty are held.
    assert holders == task.signed_up_count == task.capacity == CAPACITY
    assert counts.get("signed_up", 0) == 25
    left = sum(1 for r in results[30:] if r == "cancelled")
    assert counts["cancelled"] == 25 + 5 + left
    assert counts.get("waitlisted", 0) == 25 - left - counts.get("offered", 0)
