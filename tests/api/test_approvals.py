"""The whole loop through HTTP: sign up, check in with code and location, check out,
submit, approve, and the points that follow; and what approval refuses."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from api import extensions
from points.access import Role, ScopeType
from points.rules import starter_rule_set
from service.db import utcnow
from service.ledger.models import Transfer
from service.people.directory import ensure_grant
from service.people.models import User
from service.rules.models import RuleSetVersion
from service.tasks.models import Participation, Task
from tests.api.world import World, demo_task

HERE = {"lat": 39.9163, "lng": 116.4039, "accuracy": 12}


@pytest.fixture
def rules(app: Flask, world: World) -> None:
    """The starter rules, published at the street."""
    with app.app_context():
        session = extensions.session()
        session.add(
            RuleSetVersion(
                place_id=world.ids["street"],
                version=1,
                status="published",
                effective_from=date(2026, 1, 1),
                content=starter_rule_set(),
            )
        )
        session.commit()


def running_task(app: Flask, world: World, **changes: Any) -> int:
    with app.app_context():
        session = extensions.session()
        starts = utcnow() - timedelta(minutes=10)
        fields = demo_task(
            world.ids["community_A"], starts_at=starts, ends_at=starts + timedelta(hours=2)
        )
        fields.update(changes)
        task = Task(**fields, status="published", created_by_id=world.ids["person_A"])
        session.add(task)
        session.commit()
        return task.id


def done_and_submitted(
    client: FlaskClient, world: World, task: int, role: str = "member", units: int = 3
) -> int:
    signed = world.call(client, role, "POST", f"/tasks/{task}/signups").get_json()
    code = world.call(client, "staff", "GET", f"/tasks/{task}/checkin-code").get_json()["code"]
    checked_in = world.call(
        client, role, "POST", f"/participations/{signed['id']}/checkin", {**HERE, "code": code}
    )
    assert checked_in.status_code == 200, checked_in.get_json()
    assert (
        world.call(
            client, role, "POST", f"/participations/{signed['id']}/checkout", HERE
        ).status_code
        == 200
    )
    photo = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 160, 60)).save(photo, format="JPEG")
    uploaded = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(photo.getvalue()), "现场.jpg")},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {world.tokens[role]}"},
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    submitted = world.call(
        client,
        role,
        "POST",
        f"/participations/{signed['id']}/submit",
        {"note": "走访了3户独居老人", "units": units, "upload_ids": [uploaded.get_json()["id"]]},
    )
    assert submitted.status_code == 200, submitted.get_json()
    assert len(submitted.get_json()["photos"]) == 1
    participation: int = signed["id"]
    return participation


def balances(client: FlaskClient, world: World, role: str) -> dict[str, int]:
    items = world.call(client, role, "GET", "/me/accounts").get_json()["items"]
    return {item["currency"]: item["balance"] for item in items}


def test_the_whole_loop_credits_by_the_rules(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    task = running_task(app, world)
    mine = done_and_submitted(client, world, task)
    queue = world.call(client, "staff", "GET", "/approvals").get_json()["items"]
    assert mine in [p["id"] for p in queue]
    waiting = next(p for p in queue if p["id"] == mine)
    photo = waiting["photos"][0]
    assert client.get(photo["url"]).mimetype == "image/jpeg"  # the approver sees the photo
    # What the reviewer reads the work by: the task and who did it, not their ids.
    with app.app_context():
        shown = extensions.session().get(Task, task)
        assert shown is not None
        assert waiting["task_title"] == shown.title
        assert waiting["task_starts_at"] == shown.starts_at.isoformat()
        assert waiting["task_ends_at"] == shown.ends_at.isoformat()
    assert waiting["member_name"] == "member"

    approved = world.call(client, "staff", "POST", f"/participations/{mine}/approve")
    assert approved.status_code == 200
    body = approved.get_json()
    assert body["participation"]["status"] == "approved"
    amounts = {t["currency"]: t["amount"] for t in body["transfers"]}
    assert amounts == {"jifen": 5 + 2 * 3, "xingfubi": 2 + 1 * 3}  # 敲门入户, 3 户
    assert body["transfers"][0]["explanation"].startswith("敲门入户 rule: 3 户")
    assert balances(client, world, "member") == {"jifen": 11, "xingfubi": 5}

    twice = world.call(client, "admin", "POST", f"/participations/{mine}/approve")
    assert twice.status_code == 409
    assert twice.get_json()["code"] == "invalid_transition"
    assert balances(client, world, "member") == {"jifen": 11, "xingfubi": 5}
    assert mine not in [
        p["id"] for p in world.call(client, "staff", "GET", "/approvals").get_json()["items"]
    ]


def test_nobody_approves_their_own_work(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    with app.app_context():
        session = extensions.session()
        staff_id = client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {world.tokens['staff']}"}
        ).get_json()["id"]
        staff = session.get(User, staff_id)
        assert staff is not None
        ensure_grant(session, staff, Role.VOLUNTEER, ScopeType.PLACE, world.ids["grid_A"])
        session.commit()
    task = running_task(app, world)
    # A role change ended the staff member's token; the world re-issues fresh ones.
    world.refresh_token(app, "staff")
    mine = done_and_submitted(client, world, task, role="staff")
    own = world.call(client, "staff", "POST", f"/participations/{mine}/approve")
    assert own.status_code == 403
    assert own.get_json()["code"] == "self_approval"
    assert world.call(client, "admin", "POST", f"/participations/{mine}/approve").status_code == 200


def test_rejecting_needs_a_reason_and_credits_nothing(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    mine = done_and_submitted(client, world, running_task(app, world))
    assert (
        world.call(client, "staff", "POST", f"/participations/{mine}/reject", {}).status_code == 422
    )
    rejected = world.call(
        client, "staff", "POST", f"/participations/{mine}/reject", {"reason": "未见入户记录"}
    )
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["reject_reason"] == "未见入户记录"
    assert balances(client, world, "member") == {"jifen": 0, "xingfubi": 0}


def test_counted_work_needs_its_units(app: Flask, client: FlaskClient, world: World) -> None:
    task = running_task(app, world, checkin_mode="geofence")
    signed = world.call(client, "member", "POST", f"/tasks/{task}/signups").get_json()
    world.call(client, "member", "POST", f"/participations/{signed['id']}/checkin", HERE)
    world.call(client, "member", "POST", f"/participations/{signed['id']}/checkout", HERE)
    missing = world.call(
        client, "member", "POST", f"/participations/{signed['id']}/submit", {"note": "忘了写户数"}
    )
    assert missing.status_code == 422
    assert "units" in missing.get_json()["errors"]
    with app.app_context():
        row = extensions.session().get(Participation, signed["id"])
        assert row is not None
        assert row.status == "checked_out"


def test_bulk_approval_approves_each_on_its_own(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    task = running_task(app, world)
    first = done_and_submitted(client, world, task)
    second = done_and_submitted(client, world, task, role="volunteer")
    results = world.call(
        client,
        "staff",
        "POST",
        "/approvals/bulk",
        {"participation_ids": [first, second, world.ids["participation_B"]]},
    )
    assert results.status_code == 200
    by_id = {r["participation_id"]: r for r in results.get_json()["results"]}
    assert by_id[first]["status"] == by_id[second]["status"] == "approved"
    assert (
        by_id[world.ids["participation_B"]]["status"],
        by_id[world.ids["participation_B"]]["code"],
    ) == ("refused", "not_found")
    with app.app_context():
        credited = extensions.session().scalar(
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.kind == "earn", Transfer.source.like("participation:%"))
        )
        assert credited == 4


def test_reversing_an_approval_takes_its_points_back_once(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    mine = done_and_submitted(client, world, running_task(app, world))
    world.call(client, "staff", "POST", f"/participations/{mine}/approve")
    assert balances(client, world, "member") == {"jifen": 11, "xingfubi": 5}
    reversed_ = world.call(
        client, "admin", "POST", f"/participations/{mine}/reverse", {"reason": "重复提交"}
    )
    assert reversed_.status_code == 200
    assert reversed_.get_json()["participation"]["status"] == "reversed"
    assert {t["kind"] for t in reversed_.get_json()["transfers"]} == {"reverse"}
    assert balances(client, world, "member") == {"jifen": 0, "xingfubi": 0}
    again = world.call(
        client, "admin", "POST", f"/participations/{mine}/reverse", {"reason": "再来一次"}
    )
    assert again.status_code == 409


def test_a_reversal_is_refused_whole_when_the_points_were_spent(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    from service.ledger.posting import post
    from tests.ledger_helpers import spend_request

    mine = done_and_submitted(client, world, running_task(app, world))
    world.call(client, "staff", "POST", f"/participations/{mine}/approve")
    member_id = world.call(client, "member", "GET", "/me").get_json()["id"]
    with app.app_context():
        session = extensions.session()
        post(session, spend_request(session, member_id, 5, "spent-coins"))
        session.commit()
    refused = world.call(
        client, "admin", "POST", f"/participations/{mine}/reverse", {"reason": "审核有误"}
    )
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "insufficient_balance"
    with app.app_context():
        row = extensions.session().get(Participation, mine)
        assert row is not None
        assert row.status == "approved"  # nothing changed, the honour points included
    assert balances(client, world, "member") == {"jifen": 11, "xingfubi": 0}
