"""The demand loop over HTTP: 收集 → 立项 → 交办 → 落实 → 反馈 → 核查 → 公示 → 销号, with
sending back, escalating, handing back, 吹哨报到 to a department, tasks that own a
demand, the public list (anonymised, no sign-in), deadlines and the overdue sweep."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select

from api import extensions
from api.cli import cli
from points.access import Role, ScopeType
from service.auth.tokens import issue_access_token
from service.db import utcnow
from service.demands.export import XLSX
from service.demands.models import Demand, DemandEvent, DemandOverdue
from service.organisation.models import Department
from service.people.models import RoleGrant, User
from tests.all_at_once import all_at_once
from tests.api.community_helpers import balances, publish_starter_rules
from tests.api.test_access_matrix import new_task_body
from tests.api.test_approvals import done_and_submitted
from tests.api.test_demands import reported
from tests.api.test_uploads import uploaded
from tests.api.world import World


def user_id(world: World, role: str) -> int:
    claims = jwt.decode(world.tokens[role], options={"verify_signature": False})
    return int(claims["sub"])


def act(client: FlaskClient, world: World, role: str, demand: int, step: str, **body: Any) -> Any:
    return world.call(client, role, "POST", f"/demands/{demand}/{step}", body)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body.get("demand", body)


def shown(client: FlaskClient, world: World, role: str, demand: int) -> dict[str, Any]:
    response = world.call(client, role, "GET", f"/demands/{demand}")
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_the_whole_loop_from_report_to_closing(client: FlaskClient, world: World) -> None:
    member = user_id(world, "member")
    demand = reported(client, world)
    submitted = shown(client, world, "resident", demand)
    assert submitted["due_stage"] == "accept"
    assert submitted["deadlines"]["accept"] == submitted["due_at"]

    accepted = ok(act(client, world, "staff", demand, "accept", level="grid"))
    assert (accepted["status"], accepted["level"], accepted["due_stage"]) == (
        "accepted",
        "grid",
        "resolve",
    )
    resolve_by = datetime.fromisoformat(accepted["deadlines"]["resolve"])
    accepted_at = datetime.fromisoformat(accepted["accepted_at"])
    assert resolve_by - accepted_at == timedelta(days=3)  # the grid's default

    assigned = ok(act(client, world, "staff", demand, "assign", owner="member", user_id=member))
    assert assigned["owner"] == {
        "kind": "member",
        "user_id": member,
        "department_id": None,
        "task_id": None,
    }
    assert act(client, world, "volunteer", demand, "start").status_code == 403  # not theirs
    assert ok(act(client, world, "member", demand, "start", note="下午去看"))["status"] == (
        "in_progress"
    )
    photo = uploaded(client, world, "member")
    resolved = ok(
        act(
            client,
            world,
            "member",
            demand,
            "resolve",
            resolution="已更换灯泡",
            upload_ids=[photo],
        )
    )
    assert (resolved["status"], resolved["resolution"], resolved["due_stage"]) == (
        "resolved",
        "已更换灯泡",
        "verify",
    )
    assert [p["id"] for p in resolved["resolution_photos"]] == [photo]
    # The resident reading their demand sees what was done.
    assert shown(client, world, "resident", demand)["resolution"] == "已更换灯泡"

    assert ok(act(client, world, "staff", demand, "verify"))["status"] == "verified"
    published = ok(
        act(client, world, "staff", demand, "publish", summary="网格A路灯已修复，夜间出行恢复照明")
    )
    assert (published["status"], published["due_at"]) == ("published", None)

    board = client.get(f"/api/v1/public/demands?org_id={world.ids['community_A']}")
    assert board.status_code == 200  # no token
    (entry,) = [item for item in board.get_json()["items"] if item["id"] == demand]
    assert set(entry) == {
        "id",
        "category",
        "grid",
        "summary",
        "resolved_at",
        "published_at",
        "rating",
    }
    assert (entry["grid"], entry["category"], entry["summary"]) == (
        "网格A",
        "facility",
        "网格A路灯已修复，夜间出行恢复照明",
    )
    text = str(board.get_json())
    for private in ("3栋路灯不亮", "居民", "resident", "1390000000"):
        assert private not in text

    closed = ok(act(client, world, "staff", demand, "close"))
    assert (closed["status"], closed["due_at"]) == ("closed", None)
    timeline = shown(client, world, "resident", demand)["timeline"]
    assert [(step["action"], step["to_status"]) for step in timeline] == [
        ("report", "submitted"),
        ("accept", "accepted"),
        ("assign", "assigned"),
        ("start", "in_progress"),
        ("resolve", "resolved"),
        ("verify", "verified"),
        ("publish", "published"),
        ("close", "closed"),
    ]
    assert [step["actor_name"] for step in timeline] == [
        "resident",
        "staff",
        "staff",
        "member",
        "member",
        "staff",
        "staff",
        "staff",
    ]
    assert timeline[3]["note"] == "下午去看"
    assert timeline[4]["details"] == {"upload_ids": [photo]}
    # Still on the public list once closed, for the days it is kept there.
    board = client.get(f"/api/v1/public/demands?org_id={world.ids['grid_A']}").get_json()
    assert [item["id"] for item in board["items"]] == [demand]
    other = client.get(f"/api/v1/public/demands?org_id={world.ids['community_B']}").get_json()
    assert other["items"] == []


def test_verification_can_send_it_back_and_nobody_verifies_their_own_work(
    client: FlaskClient, world: World
) -> None:
    demand = reported(client, world)
    ok(act(client, world, "staff", demand, "accept"))
    ok(act(client, world, "staff", demand, "assign", owner="staff"))
    ok(act(client, world, "staff", demand, "resolve", resolution="已清理"))
    own = act(client, world, "staff", demand, "verify")
    assert (own.status_code, own.get_json()["code"]) == (403, "self_approval")
    assert act(client, world, "admin", demand, "send-back").status_code == 422  # no reason
    back = ok(act(client, world, "admin", demand, "send-back", reason="楼道仍有杂物"))
    assert (back["status"], back["due_stage"]) == ("in_progress", "resolve")
    ok(act(client, world, "staff", demand, "resolve", resolution="已全部清走"))
    assert ok(act(client, world, "admin", demand, "verify"))["status"] == "verified"
    steps = [step["action"] for step in shown(client, world, "staff", demand)["timeline"]]
    assert steps == ["report", "accept", "assign", "resolve", "send_back", "resolve", "verify"]
    # Verified but not for the public: closed without publishing.
    assert ok(act(client, world, "staff", demand, "close"))["published_at"] is None


def test_escalating_goes_up_a_level_with_more_time_and_needs_assigning_anew(
    client: FlaskClient, world: World
) -> None:
    demand = reported(client, world)
    ok(act(client, world, "staff", demand, "accept"))
    ok(act(client, world, "staff", demand, "assign", owner="staff"))
    assert act(client, world, "staff", demand, "escalate").status_code == 422
    up = ok(act(client, world, "staff", demand, "escalate", reason="涉及多个网格"))
    assert (up["status"], up["level"], up["owner"]) == ("accepted", "community", None)
    updated = datetime.fromisoformat(up["deadlines"]["resolve"])
    assert timedelta(days=7) - (updated - utcnow()) < timedelta(minutes=1)
    assert ok(act(client, world, "staff", demand, "escalate", reason="需要街道协调"))["level"] == (
        "street"
    )
    top = act(client, world, "staff", demand, "escalate", reason="再往上")
    assert (top.status_code, top.get_json()["code"]) == (409, "already_at_the_top")
    (step,) = [
        s for s in shown(client, world, "staff", demand)["timeline"] if s["note"] == "涉及多个网格"
    ]
    assert step["details"] == {"from_level": "grid", "level": "community"}


def test_a_member_hands_it_back_and_only_members_of_the_place_are_assigned(
    app: Flask, client: FlaskClient, world: World
) -> None:
    demand = reported(client, world)
    ok(act(client, world, "staff", demand, "accept"))
    nobody = act(client, world, "staff", demand, "assign", owner="member", user_id=999_999)
    assert (nobody.status_code, nobody.get_json()["errors"]) == (
        404,
        {"user_id": ["not a member or volunteer of this place"]},
    )
    elsewhere = act(
        client, world, "staff", demand, "assign", owner="member", user_id=world.ids["person_B"]
    )
    assert elsewhere.status_code == 404
    no_one = act(client, world, "staff", demand, "assign", owner="member")
    assert (no_one.status_code, no_one.get_json()["errors"]) == (
        422,
        {"user_id": ["required for a member"]},
    )
    ok(
        act(
            client,
            world,
            "staff",
            demand,
            "assign",
            owner="member",
            user_id=user_id(world, "volunteer"),
        )
    )
    assert act(client, world, "volunteer", demand, "return").status_code == 422
    back = ok(act(client, world, "volunteer", demand, "return", reason="不是我的网格"))
    assert (back["status"], back["owner"]) == ("accepted", None)
    # Back with staff, the volunteer can do nothing more to it.
    assert act(client, world, "volunteer", demand, "start").status_code == 403


def test_a_whistle_is_answered_by_the_departments_officers_only(
    app: Flask, client: FlaskClient, world: World
) -> None:
    other_officer = _officer_of_another_department(app, world)
    demand = reported(client, world)
    ok(act(client, world, "staff", demand, "accept", level="street"))
    whistled = ok(
        act(
            client,
            world,
            "staff",
            demand,
            "assign",
            owner="department",
            department_id=world.ids["department"],
            note="请民政局协调",
        )
    )
    assert (whistled["due_stage"], whistled["owner"]["department_id"]) == (
        "acknowledge",
        world.ids["department"],
    )
    ack_by = datetime.fromisoformat(whistled["deadlines"]["acknowledge"])
    assert ack_by - datetime.fromisoformat(whistled["whistled_at"]) == timedelta(hours=24)

    listed = world.call(client, "dept_officer", "GET", "/demands").get_json()["items"]
    assert [d["id"] for d in listed] == [demand]
    assert shown(client, world, "dept_officer", demand)["status"] == "assigned"
    theirs = world.call(client, other_officer, "GET", f"/demands/{demand}")
    assert theirs.status_code == 404
    assert world.call(client, other_officer, "GET", "/demands").get_json()["items"] == []
    assert act(client, world, other_officer, demand, "start").status_code == 404
    # Staff can't answer for the department.
    on_behalf = act(client, world, "staff", demand, "resolve", resolution="已协调")
    assert (on_behalf.status_code, on_behalf.get_json()["code"]) == (403, "self_approval")

    acknowledged = ok(act(client, world, "dept_officer", demand, "start", note="已报到"))
    assert acknowledged["acknowledged_at"]
    assert acknowledged["due_stage"] == "resolve"
    done = ok(act(client, world, "dept_officer", demand, "resolve", resolution="已安排维修"))
    assert done["status"] == "resolved"
    # The officer can't verify it, and staff can.
    assert act(client, world, "dept_officer", demand, "verify").status_code == 404
    assert ok(act(client, world, "staff", demand, "verify"))["status"] == "verified"


def signed_in(app: Flask, world: World, key: str, user: User) -> str:
    """Sign in someone made on the spot: their token, in the world under ``key``."""
    with app.app_context():
        session = extensions.session()
        if user.id is None:
            session.add(user)
            session.commit()
        world.tokens[key] = issue_access_token(
            extensions.settings().secret_key,
            user_id=user.id,
            token_version=0,
            family=f"fam-{key}",
            now=utcnow(),
        )
    return key


def _officer_of_another_department(app: Flask, world: World) -> str:
    with app.app_context():
        session = extensions.session()
        department = Department(name="区住建局")
        officer = User(name="住建局联络员")
        session.add_all([department, officer])
        session.flush()
        session.add(
            RoleGrant(
                user_id=officer.id,
                role=Role.DEPT_OFFICER.value,
                scope_type=ScopeType.DEPARTMENT.value,
                scope_id=department.id,
            )
        )
        session.commit()
    return signed_in(app, world, "other_officer", officer)


def test_a_task_posted_for_a_demand_owns_it_and_its_approved_work_resolves_it(
    app: Flask, client: FlaskClient, world: World
) -> None:
    publish_starter_rules(app, world)
    demand = reported(client, world)
    now = utcnow()
    body = {
        **new_task_body(world.ids["community_A"]),
        "demand_id": demand,
        "starts_at": (now - timedelta(minutes=10)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        "publish": True,
    }
    early = world.call(client, "staff", "POST", "/tasks", body)
    assert (early.status_code, early.get_json()["code"]) == (409, "demand_not_open")
    ok(act(client, world, "staff", demand, "accept"))
    posted = world.call(client, "staff", "POST", "/tasks", body)
    assert posted.status_code == 201, posted.get_json()
    task = posted.get_json()["id"]
    owned = shown(client, world, "staff", demand)
    assert (owned["status"], owned["owner"]["kind"], owned["owner"]["task_id"]) == (
        "assigned",
        "task",
        task,
    )
    # A second task for the same demand is welcome; the owner stays the first.
    assert world.call(client, "staff", "POST", "/tasks", body).status_code == 201
    assert shown(client, world, "staff", demand)["owner"]["task_id"] == task

    participation = done_and_submitted(client, world, task)
    approved = world.call(client, "staff", "POST", f"/participations/{participation}/approve")
    assert approved.status_code == 200, approved.get_json()
    resolved = shown(client, world, "resident", demand)
    assert resolved["status"] == "resolved"
    assert resolved["resolution"] == "任务「敲门行动」的服务已完成并通过审核"
    assert len(resolved["resolution_photos"]) == 1  # the participant's photo
    assert resolved["timeline"][-1]["actor_name"] == "staff"
    # A member's own demand can't be served and verified by the same hands: staff
    # verify, as for any 反馈.
    assert ok(act(client, world, "admin", demand, "verify"))["status"] == "verified"


def test_the_sweep_marks_each_overdue_stage_once(
    app: Flask, client: FlaskClient, world: World, runner: FlaskCliRunner
) -> None:
    waiting = reported(client, world)  # due to be accepted within a working day
    accepted = reported(client, world)
    ok(act(client, world, "staff", accepted, "accept"))  # 3 days to resolve
    fresh_demand = world.ids["demand_A"]  # from before the loop: no deadline at all
    later = utcnow() + timedelta(days=4)  # past a working day even over a weekend
    with time_machine.travel(later, tick=False):
        first = runner.invoke(cli, ["demands", "sweep"])
        second = runner.invoke(cli, ["demands", "sweep"])
    assert first.exit_code == 0, first.output
    assert "2 stage(s) newly overdue, 2 open demand(s) past their deadline" in first.output
    assert "0 stage(s) newly overdue, 2 open demand(s) past their deadline" in second.output
    with app.app_context():
        session = extensions.session()
        marked = session.execute(
            select(DemandOverdue.demand_id, DemandOverdue.stage).order_by(DemandOverdue.demand_id)
        ).all()
        notes = session.scalar(
            select(func.count()).select_from(DemandEvent).where(DemandEvent.action == "overdue")
        )
    assert [tuple(row) for row in marked] == [(waiting, "accept"), (accepted, "resolve")]
    assert notes == 2
    assert fresh_demand not in {row[0] for row in marked}

    with time_machine.travel(later, tick=False):
        for role in ("staff", "resident"):
            world.refresh_token(app, role)
        overdue = world.call(client, "staff", "GET", "/demands/overdue").get_json()["items"]
        refused = world.call(client, "resident", "GET", "/demands/overdue")
    assert [d["id"] for d in overdue] == [waiting, accepted]  # the longest overdue first
    assert refused.status_code == 403


def test_admins_keep_the_deadlines_and_new_stages_use_them(
    client: FlaskClient, world: World
) -> None:
    grid_default = {"stage": "resolve", "level": "grid", "category": None, "amount": 3}
    limits = world.call(client, "root", "GET", "/demand-limits").get_json()
    assert {**grid_default, "unit": "days", "id": None, "default": True} in limits
    assert world.call(client, "staff", "GET", "/demand-limits").status_code == 404
    kept = world.call(
        client,
        "root",
        "PUT",
        "/demand-limits",
        {
            "stage": "resolve",
            "level": "grid",
            "category": "facility",
            "amount": 12,
            "unit": "hours",
        },
    )
    assert kept.status_code == 200, kept.get_json()
    assert kept.get_json()["default"] is False
    bad = world.call(
        client, "root", "PUT", "/demand-limits", {"stage": "resolve", "amount": 0, "unit": "days"}
    )
    assert bad.status_code == 422
    demand = reported(client, world)  # category facility
    accepted = ok(act(client, world, "staff", demand, "accept"))
    resolve_by = datetime.fromisoformat(accepted["deadlines"]["resolve"])
    assert resolve_by - datetime.fromisoformat(accepted["accepted_at"]) == timedelta(hours=12)

    kept_id = kept.get_json()["id"]
    assert world.call(client, "admin", "DELETE", f"/demand-limits/{kept_id}").status_code == 404
    assert world.call(client, "root", "DELETE", f"/demand-limits/{kept_id}").status_code == 204
    assert world.call(client, "root", "DELETE", f"/demand-limits/{kept_id}").status_code == 404
    limits = world.call(client, "root", "GET", "/demand-limits").get_json()
    assert {**grid_default, "unit": "days", "id": None, "default": True} in limits


def test_another_communitys_staff_cannot_touch_the_loop(client: FlaskClient, world: World) -> None:
    demand_b = world.ids["demand_B"]
    for step, body in (
        ("accept", {}),
        ("assign", {"owner": "staff"}),
        ("escalate", {"reason": "越权"}),
        ("publish", {"summary": "越权公示"}),
        ("close", {}),
    ):
        assert act(client, world, "staff", demand_b, step, **body).status_code == 404
    with_b = world.call(client, "staff", "GET", f"/demands/{demand_b}")
    assert with_b.status_code == 404


@pytest.mark.parametrize("racers", [4])
def test_two_staff_accepting_at_once_move_it_once(
    app: Flask, client: FlaskClient, world: World, racers: int
) -> None:
    demand = reported(client, world)

    def accept(index: int, go: Any) -> int:
        local = app.test_client()
        go()
        role = "staff" if index % 2 == 0 else "admin"
        return act(local, world, role, demand, "accept").status_code

    statuses = sorted(all_at_once(racers, accept))
    assert statuses == [200] + [409] * (racers - 1)
    with app.app_context():
        session = extensions.session()
        accepts = session.scalar(
            select(func.count())
            .select_from(DemandEvent)
            .where(DemandEvent.demand_id == demand, DemandEvent.action == "accept")
        )
        row = session.get(Demand, demand)
        assert row is not None
        assert (row.status, row.version, accepts) == ("accepted", 1, 1)


def test_the_public_list_needs_a_place_and_is_rate_limited(
    client: FlaskClient, world: World
) -> None:
    missing = client.get("/api/v1/public/demands")
    assert (missing.status_code, missing.get_json()["code"]) == (422, "validation_error")
    nowhere = client.get("/api/v1/public/demands?org_id=999999")
    assert nowhere.status_code == 404


def test_the_public_list_forgets_what_was_published_long_ago(
    app: Flask, client: FlaskClient, world: World
) -> None:
    demand = reported(client, world)
    ok(act(client, world, "staff", demand, "accept"))
    ok(act(client, world, "staff", demand, "assign", owner="staff"))
    ok(act(client, world, "staff", demand, "resolve", resolution="已修好"))
    ok(act(client, world, "admin", demand, "verify"))
    ok(act(client, world, "staff", demand, "publish", summary="路灯已修好"))
    place = world.ids["community_A"]
    assert len(client.get(f"/api/v1/public/demands?org_id={place}").get_json()["items"]) == 1
    with time_machine.travel(utcnow() + timedelta(days=31), tick=False):
        gone = client.get(f"/api/v1/public/demands?org_id={place}").get_json()["items"]
    assert gone == []


def walk_to(client: FlaskClient, world: World, demand: int, *, publish: bool = True) -> None:
    """Accepted, done by staff, verified by the admin and (``publish``) published."""
    ok(act(client, world, "staff", demand, "accept"))
    ok(act(client, world, "staff", demand, "assign", owner="staff"))
    ok(act(client, world, "staff", demand, "resolve", resolution="已修好"))
    ok(act(client, world, "admin", demand, "verify"))
    if publish:
        ok(act(client, world, "staff", demand, "publish", summary="路灯已修好"))


def test_the_resident_rates_what_was_done_and_a_low_rating_reopens_verification(
    app: Flask, client: FlaskClient, world: World
) -> None:
    demand = reported(client, world)
    early = act(client, world, "resident", demand, "rating", score=5)
    assert (early.status_code, early.get_json()["code"]) == (409, "not_rateable")
    walk_to(client, world, demand)
    assert act(client, world, "resident", demand, "rating", score=6).status_code == 422
    not_theirs = act(client, world, "member", demand, "rating", score=5)
    assert not_theirs.status_code == 403  # a member of the grid, who didn't raise it
    by_staff = act(client, world, "staff", demand, "rating", score=5)
    assert (by_staff.status_code, by_staff.get_json()["code"]) == (403, "forbidden")

    rated = ok(act(client, world, "resident", demand, "rating", score=4, comment="很及时"))
    assert (rated["status"], rated["rating"]["score"], rated["rating"]["comment"]) == (
        "published",
        4,
        "很及时",
    )
    place = world.ids["community_A"]
    (entry,) = client.get(f"/api/v1/public/demands?org_id={place}").get_json()["items"]
    assert entry["rating"] == 4

    low = ok(act(client, world, "resident", demand, "rating", score=2, comment="灯又坏了"))
    assert (low["status"], low["published_at"], low["rating"]["score"]) == ("resolved", None, 2)
    assert low["due_stage"] == "verify"
    assert client.get(f"/api/v1/public/demands?org_id={place}").get_json()["items"] == []
    steps = shown(client, world, "staff", demand)["timeline"][-3:]
    assert [(s["action"], s["to_status"], s["note"]) for s in steps] == [
        ("rate", "published", "很及时"),
        ("rate", "published", "灯又坏了"),
        ("reopen", "resolved", "灯又坏了"),
    ]
    with time_machine.travel(utcnow() + timedelta(days=8), tick=False):
        for role in ("resident", "admin"):
            world.refresh_token(app, role)
        settled = act(client, world, "resident", demand, "rating", score=5)
        # 核查 again: staff send it back to the one who did it.
        back = ok(act(client, world, "admin", demand, "send-back", reason="居民反映灯又坏了"))
    assert (settled.status_code, settled.get_json()["code"]) == (409, "rating_settled")
    assert back["status"] == "in_progress"


def test_nobody_rates_their_own_work(client: FlaskClient, world: World) -> None:
    member = user_id(world, "member")
    demand = reported(client, world, role="member")
    ok(act(client, world, "staff", demand, "accept"))
    ok(act(client, world, "staff", demand, "assign", owner="member", user_id=member))
    ok(act(client, world, "member", demand, "resolve", resolution="我自己修好了"))
    own = act(client, world, "member", demand, "rating", score=5)
    assert (own.status_code, own.get_json()["code"]) == (403, "self_approval")


def test_whistle_statistics_count_what_the_department_did_and_when(
    app: Flask, client: FlaskClient, world: World
) -> None:
    department = world.ids["department"]
    started = utcnow()
    on_time, late = reported(client, world), reported(client, world)
    for demand in (on_time, late):
        ok(act(client, world, "staff", demand, "accept", level="street"))
        ok(
            act(
                client,
                world,
                "staff",
                demand,
                "assign",
                owner="department",
                department_id=department,
            )
        )
    ok(act(client, world, "dept_officer", on_time, "start"))
    ok(act(client, world, "dept_officer", on_time, "resolve", resolution="已协调解决"))
    ok(act(client, world, "admin", on_time, "verify"))
    with time_machine.travel(started + timedelta(hours=30), tick=False):
        for role in ("dept_officer", "resident", "root", "staff"):
            world.refresh_token(app, role)
        ok(act(client, world, "dept_officer", late, "start"))
        ok(act(client, world, "dept_officer", late, "return", reason="不属于本部门职责"))
        ok(act(client, world, "resident", on_time, "rating", score=5))
        path = f"/departments/{department}/whistle-stats"
        stats = world.call(client, "dept_officer", "GET", path)
        assert stats.status_code == 200, stats.get_json()
        body = stats.get_json()
        assert world.call(client, "root", "GET", path).get_json() == body
        assert world.call(client, "staff", "GET", path).status_code == 404
        empty = world.call(client, "root", "GET", f"{path}?from=2020-01-01&to=2020-03-31")
        backwards = world.call(client, "root", "GET", f"{path}?from=2026-03-31&to=2026-01-01")
    assert {
        k: body[k]
        for k in (
            "received",
            "due",
            "acknowledged_on_time",
            "acknowledged_late",
            "acknowledge_rate",
            "resolved",
            "resolved_on_time",
            "returned",
            "withdrawn",
            "waiting",
            "average_rating",
            "ratings",
        )
    } == {
        "received": 2,
        "due": 2,
        "acknowledged_on_time": 1,
        "acknowledged_late": 1,
        "acknowledge_rate": 0.5,
        "resolved": 1,
        "resolved_on_time": 1,
        "returned": 1,
        "withdrawn": 0,
        "waiting": 0,
        "average_rating": 5.0,
        "ratings": 1,
    }
    # One 报到 at once, one after 30 hours.
    assert 14.9 < body["average_hours_to_acknowledge"] < 15.1
    assert empty.get_json()["received"] == 0
    assert (backwards.status_code, backwards.get_json()["errors"]) == (422, {"to": ["before from"]})


def test_the_three_lists_filter_page_and_export(client: FlaskClient, world: World) -> None:
    done = reported(client, world)
    walk_to(client, world, done)
    ok(act(client, world, "resident", done, "rating", score=5, comment="满意"))
    ok(act(client, world, "staff", done, "close"))
    handed = reported(client, world)
    ok(act(client, world, "staff", handed, "accept", level="community"))
    ok(
        act(
            client,
            world,
            "staff",
            handed,
            "assign",
            owner="member",
            user_id=user_id(world, "member"),
        )
    )
    waiting = reported(client, world)

    def listed(which: str, query: str = "") -> list[dict[str, Any]]:
        response = world.call(client, "staff", "GET", f"/demand-lists/{which}?{query}")
        assert response.status_code == 200, response.get_json()
        items: list[dict[str, Any]] = response.get_json()["items"]
        return items

    problems = listed("problems")
    assert [row["id"] for row in problems][:3] == [waiting, handed, done]  # newest first
    assert {row["id"] for row in listed("problems", "level=community")} == {handed}
    assert listed("problems", "category=culture") == []
    tasks = listed("tasks")
    assert [row["id"] for row in tasks] == [done, handed]  # the soonest deadline first
    task = tasks[1]
    assert (task["id"], task["owner_kind"], task["owner"], task["overdue"]) == (
        handed,
        "member",
        "member",
        False,
    )
    (effect,) = listed("effects")
    assert (effect["id"], effect["resolution"], effect["rating"], effect["rating_comment"]) == (
        done,
        "已修好",
        5,
        "满意",
    )
    assert listed("effects", "from=2020-01-01&to=2020-12-31") == []
    assert len(listed("problems", "limit=1")) == 1
    backwards = world.call(
        client, "staff", "GET", "/demand-lists/tasks?from=2026-03-01&to=2026-01-01"
    )
    assert backwards.status_code == 422
    assert world.call(client, "staff", "GET", "/demand-lists/others").status_code == 404
    assert world.call(client, "resident", "GET", "/demand-lists/problems").status_code == 403
    elsewhere = world.call(
        client, "staff", "GET", f"/demand-lists/problems?org_id={world.ids['community_B']}"
    )
    assert elsewhere.status_code == 404

    with world.call(client, "staff", "GET", "/demand-lists/effects?format=xlsx") as sheet:
        assert sheet.status_code == 200
        assert sheet.mimetype == XLSX
        assert "attachment" in sheet.headers["Content-Disposition"]
        book = load_workbook(io.BytesIO(sheet.data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0].startswith("效果清单（全部")
    assert rows[1][:4] == ("编号", "所在地", "类别", "办理结果")
    assert rows[2][:4] == (done, "网格A", "微设施", "已修好")
    assert rows[2][7:9] == (5, "满意")
    assert isinstance(rows[2][5], datetime)  # a date a spreadsheet can sort and count
    assert book.active.freeze_panes == "A3"
    assert len(rows) == 3


def test_lianxin_demands_export_writes_the_list_as_the_staff_member_sees_it(
    app: Flask, client: FlaskClient, world: World, runner: FlaskCliRunner, tmp_path: Any
) -> None:
    mine, theirs = reported(client, world), world.ids["demand_B"]
    with app.app_context():
        session = extensions.session()
        staff = session.get(User, user_id(world, "staff"))
        assert staff is not None
        staff.openid = "o-staff-export"
        session.commit()
    out = tmp_path / "问题清单.xlsx"
    result = runner.invoke(
        cli,
        ["demands", "export", "--list", "problems", "--by", "o-staff-export", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    ids = [row[0] for row in load_workbook(out).active.iter_rows(min_row=3, values_only=True)]
    assert mine in ids
    assert world.ids["demand_A"] in ids
    assert theirs not in ids  # community B's, which this staff member doesn't handle
    nobody = runner.invoke(
        cli, ["demands", "export", "--list", "tasks", "--by", "nobody", "--out", str(out)]
    )
    assert nobody.exit_code == 1
    assert "no user 'nobody'" in nobody.output


def _rider(app: Flask, world: World) -> str:
    """A delivery rider: signed in, no role and no home anywhere (移动探头)."""
    return signed_in(app, world, "rider", User(name="外卖骑手"))


def test_anyone_reports_a_problem_where_they_see_it_and_duplicates_are_merged(
    app: Flask, client: FlaskClient, world: World
) -> None:
    publish_starter_rules(app, world)
    rider = _rider(app, world)
    body = {"category": "safety", "description": "路口井盖缺失", "org_id": world.ids["grid_A"]}
    nowhere = world.call(client, rider, "POST", "/demands", body)
    assert (nowhere.status_code, nowhere.get_json()["code"]) == (404, "not_found")
    half = world.call(client, rider, "POST", "/demands", {**body, "lat": 39.9163})
    assert (half.status_code, half.get_json()["errors"]) == (422, {"lng": ["with lat"]})
    seen = world.call(
        client, rider, "POST", "/demands", {**body, "lat": 39.91634567, "lng": 116.40391234}
    )
    assert seen.status_code == 201, seen.get_json()
    first = seen.get_json()
    assert (first["lat"], first["lng"]) == (39.9163, 116.4039)  # about 10 m, no more
    again = world.call(client, "resident", "POST", "/demands", {**body, "description": "井盖没了"})
    second = again.get_json()["id"]

    assert act(client, world, "staff", second, "merge", into=second).status_code == 404
    other_side = act(client, world, "staff", second, "merge", into=world.ids["demand_B"])
    assert other_side.status_code == 404
    merged = ok(act(client, world, "staff", second, "merge", into=first["id"]))
    assert (merged["status"], merged["duplicate_of_id"]) == ("declined", first["id"])
    assert merged["decline_reason"] == f"与诉求 #{first['id']} 反映的是同一问题，已合并办理"
    told = shown(client, world, "resident", second)["timeline"][-1]
    assert (told["action"], told["details"]) == ("merge", {"into": first["id"]})
    late = act(client, world, "staff", second, "merge", into=first["id"])
    assert (late.status_code, late.get_json()["code"]) == (409, "invalid_transition")

    accepted = act(client, world, "staff", first["id"], "accept")
    assert accepted.status_code == 200
    # The rider, who holds no role, earns as a resident does; the duplicate earns nothing.
    assert balances(client, world, rider) == {"jifen": 3, "xingfubi": 2}
    assert balances(client, world, "resident") == {"jifen": 0, "xingfubi": 0}
