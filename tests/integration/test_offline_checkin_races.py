"""An offline check-in resent while another send of it, or another check-in, is under
way, on both backends: exactly one check-in lands, every send of its key answers with
it, and the rest get a clean 409, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask

from api import extensions
from service.access import load_actor
from service.auth.tokens import issue_access_token
from service.db import utcnow
from service.tasks.models import Participation, Task
from service.tasks.signups import sign_up
from tests.all_at_once import all_at_once
from tests.conftest import AppFactory
from tests.integration.test_task_edit_races import community

SAME_KEY = 6  # sends of one queued check-in; then as many with keys of their own
RACERS = 12


def signed_up_for_a_running_task(app: Flask) -> tuple[int, int, str]:
    ids = community(app, 1)
    [member] = ids["members"]  # type: ignore[misc]
    with app.app_context():
        session = extensions.session()
        task = session.get(Task, ids["task"])
        assert task is not None
        task.starts_at = utcnow() - timedelta(minutes=40)  # signed up an hour ago, below
        task.ends_at = task.starts_at + timedelta(hours=2)
        task.checkin_mode = "geofence"
        session.commit()
        signed = sign_up(
            extensions.unit_of_work(),
            load_actor(session, member),
            task.id,
            utcnow() - timedelta(hours=1),
        )
        token = issue_access_token(
            extensions.settings().secret_key,
            user_id=member,
            token_version=0,
            family="fam-offline",
            now=utcnow(),
        )
        return member, signed.id, token


def test_resends_and_other_keys_at_once_land_one_check_in(make_app: AppFactory) -> None:
    app = make_app(db_pool_size=RACERS + 2)
    _, participation, token = signed_up_for_a_running_task(app)
    taken_at = (utcnow() - timedelta(minutes=20)).isoformat()
    body = {"lat": 39.9163, "lng": 116.4039, "accuracy": 15, "taken_at": taken_at}

    def worker(index: int, go: Callable[[], None]) -> tuple[int, object]:
        client = app.test_client()
        key = "queued-1" if index < SAME_KEY else f"other-{index}"
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        go()
        response = client.post(
            f"/api/v1/participations/{participation}/checkin", json=body, headers=headers
        )
        return response.status_code, response.get_json()

    results = all_at_once(RACERS, worker, timeout=60)
    assert {status for status, _ in results} <= {200, 409}, results
    landed = [answer for status, answer in results if status == 200]
    refused = [answer for status, answer in results if status == 409]
    assert {answer["code"] for answer in refused} <= {  # type: ignore[index]
        "already_checked_in",
        "participation_changed",
    }
    # Whoever won, every 200 is the one check-in; if the resent key won, all its sends.
    assert all(answer == landed[0] for answer in landed)
    assert len(landed) in (1, SAME_KEY)
    same_key = [status for status, _ in results[:SAME_KEY]]
    assert same_key in ([200] * SAME_KEY, [409] * SAME_KEY)
    with app.app_context():
        row = extensions.session().get(Participation, participation)
        assert row is not None
        assert (row.status, row.flags, row.failed_checkins) == ("checked_in", ["offline"], 0)
