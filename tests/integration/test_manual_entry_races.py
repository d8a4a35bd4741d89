"""补录 under real concurrency, on both backends: ten entries of one person's work at
once make one participation, credited once it is approved; every other entry is a clean
409 and nothing else is written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from flask import Flask
from sqlalchemy import func, select

from api import extensions
from service.access import load_actor
from service.audit.models import AuditEntry
from service.auth.tokens import issue_access_token
from service.db import utcnow
from service.tasks.manual_entry import ManualEntry, record_manually
from service.tasks.models import Participation, Task
from service.unit_of_work import UnitOfWork
from tests.all_at_once import all_at_once
from tests.conftest import AppFactory
from tests.integration.test_task_edit_races import community, racing

RACERS = 10


def started(app: Flask) -> tuple[int, int, int]:
    """The community's task, moved to have begun two hours ago; its staff and a member."""
    ids = community(app, 1)
    task_id = int(str(ids["task"]))
    with app.app_context():
        session = extensions.session()
        task = session.get(Task, task_id)
        assert task is not None
        task.starts_at = utcnow() - timedelta(hours=2)
        task.ends_at = task.starts_at + timedelta(hours=3)
        session.commit()
    members: list[int] = list(ids["members"])  # type: ignore[call-overload]
    return task_id, int(str(ids["staff"])), members[0]


def written(app: Flask, task_id: int) -> tuple[list[str], int]:
    with app.app_context():
        session = extensions.session()
        statuses = list(
            session.scalars(select(Participation.status).where(Participation.task_id == task_id))
        )
        audited = session.scalar(
            select(func.count()).where(AuditEntry.action == "participation.record_manually")
        )
        return [str(s) for s in statuses], int(audited or 0)


def test_ten_entries_of_one_persons_work_at_once_land_once(make_app: AppFactory) -> None:
    app = make_app(db_pool_size=RACERS + 5)
    task_id, staff, member = started(app)
    entry = ManualEntry(user_id=member, hours=Decimal(2), units=3, reason="忘记签到", note="见证")

    def step(uow: UnitOfWork, index: int) -> object:
        actor = load_actor(uow.session, staff)
        done = record_manually(
            uow, actor, task_id, entry, utcnow(), confirm_above=Decimal(4), confirm_above_units=10
        )
        return done.status

    results = racing(app, RACERS, step)
    landed = [r for r in results if r == "submitted"]
    refused = [r for r in results if r != "submitted"]
    assert len(landed) == 1, results
    assert {getattr(r, "code", r) for r in refused} <= {
        "participation_changed",
        "invalid_transition",
    }
    assert written(app, task_id) == (["submitted"], 1)


def test_the_same_race_over_http_answers_201_or_409_never_500(make_app: AppFactory) -> None:
    app = make_app(db_pool_size=RACERS + 5)
    task_id, staff, member = started(app)
    with app.app_context():
        token = issue_access_token(
            extensions.settings().secret_key,
            user_id=staff,
            token_version=0,
            family="fam-staff",
            now=utcnow(),
        )
    body = {"user_id": member, "hours": 2, "units": 3, "reason": "忘记签到", "note": "见证"}

    def worker(index: int, go: Callable[[], None]) -> object:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        go()
        response = client.post(
            f"/api/v1/tasks/{task_id}/manual-entries", json=body, headers=headers
        )
        return response.status_code, response.get_json()

    answers = all_at_once(RACERS, worker, timeout=60)
    statuses = sorted(status for status, _ in answers)  # type: ignore[misc]
    assert statuses == [201] + [409] * (RACERS - 1), answers
    assert {b["code"] for s, b in answers if s == 409} <= {  # type: ignore[misc]
        "participation_changed",
        "invalid_transition",
    }
    assert written(app, task_id) == (["submitted"], 1)
