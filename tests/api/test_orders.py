"""点单 delivery over HTTP: a member orders groceries for an elder's household (代办),
staff turn the order into its task in one step, a volunteer delivers, staff approve,
the member confirms receipt for the elder and that closes it; the household's
resident rates the work (群众来评判), staff review a low rating; and whistling offers
the paired department first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from api import extensions
from points.access import Role, ScopeType
from service.db import utcnow
from service.demands.models import Demand, DemandEvent, DemandWhistle
from service.households.models import Household
from service.people.models import RoleGrant, User
from service.tasks.models import ParticipationRating, Task
from tests.all_at_once import all_at_once
from tests.api.community_helpers import balances, publish_starter_rules
from tests.api.test_approvals import done_and_submitted
from tests.api.test_demand_loop import act, ok, shown, signed_in, user_id
from tests.api.test_demands import reported
from tests.api.world import World

HERE = {"lat": 39.9163, "lng": 116.4039}


def staff_of_b(app: Flask, world: World) -> str:
    user = User(name="B社区工作者", residence_place_id=world.ids["grid_B"])
    user.grants.append(
        RoleGrant(
            role=Role.STAFF.value,
            scope_type=ScopeType.PLACE.value,
            scope_id=world.ids["community_B"],
        )
    )
    return signed_in(app, world, "staff_B", user)


def lives_in_household_a(client: FlaskClient, world: World, role: str = "resident") -> None:
    path = f"/households/{world.ids['household_A']}/residents"
    linked = world.call(client, "staff", "POST", path, {"user_id": user_id(world, role)})
    assert linked.status_code == 201, linked.get_json()


def order(client: FlaskClient, world: World, role: str = "member", **more: Any) -> Any:
    body = {
        "category": "service",
        "description": "买菜：青菜两斤、鸡蛋一盒",
        "org_id": world.ids["grid_A"],
        "order": "delivery",
        "household_id": world.ids["household_A"],
        **more,
    }
    return world.call(client, role, "POST", "/demands", body)


def order_task(client: FlaskClient, world: World, demand: int, role: str = "staff") -> Any:
    now = utcnow()
    body = {
        **HERE,
        "starts_at": (now - timedelta(minutes=10)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        "checkin_mode": "both",
    }
    return world.call(client, role, "POST", f"/demands/{demand}/task", body)


def delivered(app: Flask, client: FlaskClient, world: World) -> int:
    """A delivery the member ordered for household A, where the resident lives, made
    its task, done and handed in by the volunteer: the participation, waiting."""
    publish_starter_rules(app, world)
    lives_in_household_a(client, world)
    demand = order(client, world).get_json()["id"]
    ok(act(client, world, "staff", demand, "accept"))
    task = order_task(client, world, demand).get_json()["id"]
    return done_and_submitted(client, world, task, role="volunteer", units=1)


def approve(client: FlaskClient, world: World, participation: int) -> int:
    path = f"/participations/{participation}/approve"
    return int(world.call(client, "staff", "POST", path).status_code)


def test_a_proxy_order_becomes_a_task_and_closes_after_approval_and_confirmation(
    app: Flask, client: FlaskClient, world: World
) -> None:
    publish_starter_rules(app, world)
    lives_in_household_a(client, world)
    filed = order(client, world)
    assert filed.status_code == 201, filed.get_json()
    demand = filed.get_json()
    assert (demand["order"], demand["household_id"], demand["proxy"]) == (
        "delivery",
        world.ids["household_A"],
        True,
    )
    assert demand["served_user_id"] == user_id(world, "resident")
    assert demand["address"] == "3栋2单元401"  # the door, from the register
    # The elder it serves sees it among their own, as if they had sent it in.
    mine = world.call(client, "resident", "GET", "/me/demands").get_json()["items"]
    assert [item["id"] for item in mine] == [demand["id"]]
    assert shown(client, world, "resident", demand["id"])["status"] == "submitted"

    before = balances(client, world, "member")
    accepted = act(client, world, "staff", demand["id"], "accept")
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["transfers"] == []  # an order is no problem report
    # The elder it serves is told of each step, as its filer is.
    for role in ("resident", "member"):
        told = world.call(client, role, "GET", "/me/notifications").get_json()["items"]
        assert [n["kind"] for n in told] == ["demand.moved"], role
    assert balances(client, world, "member") == before

    posted = order_task(client, world, demand["id"])
    assert posted.status_code == 201, posted.get_json()
    task = posted.get_json()
    assert (task["type"], task["category"], task["org_id"], task["status"]) == (
        "elder_delivery",
        "service",
        world.ids["grid_A"],
        "published",
    )
    assert (task["title"], task["address"]) == ("送菜上门：3栋2单元401", "3栋2单元401")
    assert (task["demand_id"], task["household_id"]) == (demand["id"], world.ids["household_A"])
    assert task["description"] == "买菜：青菜两斤、鸡蛋一盒"
    owner = shown(client, world, "staff", demand["id"])["owner"]
    assert (owner["kind"], owner["task_id"]) == ("task", task["id"])

    # The volunteer delivers; the work reaches the household without naming it.
    participation = done_and_submitted(client, world, task["id"], role="volunteer", units=1)
    queue = world.call(client, "staff", "GET", "/approvals").get_json()["items"]
    (waiting,) = [item for item in queue if item["id"] == participation]
    assert waiting["household_ids"] == [world.ids["household_A"]]
    approved = world.call(client, "staff", "POST", f"/participations/{participation}/approve")
    assert approved.status_code == 200, approved.get_json()
    assert shown(client, world, "resident", demand["id"])["status"] == "resolved"

    # Neither a neighbour nor staff can say it arrived: only the household, or who
    # ordered for it.
    for role in ("volunteer", "staff"):
        refused = act(client, world, role, demand["id"], "confirm")
        assert refused.status_code == 403, (role, refused.get_json())
    confirmed = ok(act(client, world, "member", demand["id"], "confirm", note="已电话确认老人收到"))
    assert (confirmed["status"], confirmed["due_at"]) == ("closed", None)
    assert confirmed["closed_at"] is not None
    step = shown(client, world, "staff", demand["id"])["timeline"][-1]
    assert (step["action"], step["from_status"], step["to_status"], step["note"]) == (
        "confirm",
        "resolved",
        "closed",
        "已电话确认老人收到",
    )
    assert step["details"] == {"on_behalf": True}
    again = act(client, world, "resident", demand["id"], "confirm")
    assert (again.status_code, again.get_json()["code"]) == (409, "invalid_transition")

    # The elder rates the order, and the work that reached their door.
    rated = world.call(client, "resident", "POST", f"/demands/{demand['id']}/rating", {"score": 5})
    assert rated.status_code == 200, rated.get_json()
    assert rated.get_json()["rating"]["score"] == 5
    rateable = world.call(client, "resident", "GET", "/me/rateable-work").get_json()
    assert [(w["participation_id"], w["my_score"]) for w in rateable] == [(participation, None)]
    work = world.call(
        client,
        "resident",
        "POST",
        f"/participations/{participation}/rating",
        {"score": 2, "comment": "鸡蛋碎了两个"},
    )
    assert work.status_code == 200, work.get_json()
    assert (work.get_json()["score"], work.get_json()["household_id"]) == (
        2,
        world.ids["household_A"],
    )


def test_confirming_is_for_orders_and_only_after_the_work_was_done(
    client: FlaskClient, world: World
) -> None:
    problem = reported(client, world)
    ok(act(client, world, "staff", problem, "accept"))
    ok(act(client, world, "staff", problem, "assign", owner="staff"))
    ok(act(client, world, "staff", problem, "resolve", resolution="已修好"))
    refused = act(client, world, "resident", problem, "confirm")
    assert (refused.status_code, refused.get_json()["code"]) == (409, "not_an_order")

    lives_in_household_a(client, world)
    filed = order(client, world, role="resident")
    assert filed.status_code == 201, filed.get_json()
    mine = filed.get_json()
    # The resident ordering for their own household is no proxy.
    assert (mine["proxy"], mine["served_user_id"]) == (False, user_id(world, "resident"))
    early = act(client, world, "resident", mine["id"], "confirm")
    assert (early.status_code, early.get_json()["code"]) == (409, "invalid_transition")
    # Only an order becomes a task in one step.
    not_order = order_task(client, world, problem)
    assert not_order.status_code == 409


def test_an_order_names_a_household_the_filer_may_serve(
    app: Flask, client: FlaskClient, world: World
) -> None:
    before = _demands(app)
    missing = order(client, world, household_id=None)
    assert (missing.status_code, missing.get_json()["errors"]) == (
        422,
        {"household_id": ["required together"]},
    )
    no_order = order(client, world, order=None)
    assert (no_order.status_code, no_order.get_json()["errors"]) == (
        422,
        {"order": ["required together"]},
    )
    # The shopper lives in grid A but serves nowhere: no register to file from.
    shopper = order(client, world, role="resident")
    assert (shopper.status_code, shopper.get_json()["errors"]) == (
        404,
        {"household_id": ["no such household"]},
    )
    elsewhere = order(client, world, household_id=world.ids["household_B"])
    assert elsewhere.status_code == 404
    not_there = order(client, world, org_id=world.ids["grid_B"])
    assert (not_there.status_code, not_there.get_json()["errors"]) == (
        422,
        {"household_id": ["not in the place given as org_id"]},
    )
    lives_in_household_a(client, world)
    with app.app_context():
        session = extensions.session()
        gone = Household(place_id=world.ids["grid_A"], label="已搬迁", active=False)
        session.add(gone)
        session.commit()
        gone_id = gone.id
    inactive = order(client, world, household_id=gone_id)
    assert (inactive.status_code, inactive.get_json()["errors"]) == (
        422,
        {"household_id": ["not active"]},
    )
    stranger = order(client, world, resident_id=user_id(world, "volunteer"))
    assert (stranger.status_code, stranger.get_json()["errors"]) == (
        422,
        {"resident_id": ["not a resident of the household"]},
    )
    assert _demands(app) == before


def test_posting_the_task_of_an_order_is_for_staff_of_its_place(
    app: Flask, client: FlaskClient, world: World
) -> None:
    filed = order(client, world)
    demand = filed.get_json()["id"]
    ok(act(client, world, "staff", demand, "accept"))
    other = staff_of_b(app, world)
    assert order_task(client, world, demand, role=other).status_code == 404
    assert order_task(client, world, demand, role="member").status_code == 404
    nowhere = world.call(
        client,
        "staff",
        "POST",
        f"/demands/{demand}/task",
        {
            "starts_at": (utcnow() + timedelta(hours=1)).isoformat(),
            "ends_at": (utcnow() + timedelta(hours=2)).isoformat(),
        },
    )
    assert (nowhere.status_code, nowhere.get_json()["errors"]) == (
        422,
        {"lat": ["required"], "lng": ["required"]},
    )
    assert shown(client, world, "staff", demand)["status"] == "accepted"  # nothing changed
    assert order_task(client, world, demand).status_code == 201


def test_a_low_rating_of_work_waits_for_staff_review_and_a_reversal_settles_it(
    app: Flask, client: FlaskClient, world: World
) -> None:
    participation = delivered(app, client, world)
    path = f"/participations/{participation}/rating"
    early = world.call(client, "resident", "POST", path, {"score": 1})
    assert (early.status_code, early.get_json()["code"]) == (409, "not_rateable")
    assert approve(client, world, participation) == 200

    # Who the work didn't reach finds nothing; who did it may not rate it.
    assert world.call(client, "member", "POST", path, {"score": 5}).status_code == 404
    lives_in_household_a(client, world, role="volunteer")
    own = world.call(client, "volunteer", "POST", path, {"score": 5})
    assert (own.status_code, own.get_json()["code"]) == (403, "self_approval")
    bad = world.call(client, "resident", "POST", path, {"score": 6})
    assert bad.status_code == 422

    low = world.call(client, "resident", "POST", path, {"score": 1, "comment": "没有送到"})
    assert low.status_code == 200, low.get_json()
    rating = low.get_json()["id"]
    waiting = world.call(client, "staff", "GET", "/participation-ratings").get_json()["items"]
    assert [(w["rating"]["id"], w["task_title"], w["household_label"]) for w in waiting] == [
        (rating, "送菜上门：3栋2单元401", "3栋2单元401")
    ]
    assert waiting[0]["rating"]["comment"] == "没有送到"
    other = staff_of_b(app, world)
    assert world.call(client, other, "GET", "/participation-ratings").get_json()["items"] == []
    review = f"/participation-ratings/{rating}/review"
    assert world.call(client, other, "POST", review, {"note": "核实"}).status_code == 404

    # The resident changes it within the week: one rating per household, still low.
    changed = world.call(client, "resident", "POST", path, {"score": 2, "comment": "晚了两小时"})
    assert changed.status_code == 200
    assert changed.get_json()["id"] == rating
    reversed_ = world.call(
        client,
        "staff",
        "POST",
        f"/participations/{participation}/reverse",
        {"reason": "核查：未按时送达"},
    )
    assert reversed_.status_code == 200, reversed_.get_json()
    assert world.call(client, "staff", "GET", "/participation-ratings").get_json()["items"] == []
    every = world.call(client, "staff", "GET", "/participation-ratings?waiting=false").get_json()
    (settled,) = every["items"]
    assert (settled["rating"]["score"], settled["rating"]["review_note"], settled["status"]) == (
        2,
        "核查：未按时送达",
        "reversed",
    )
    with app.app_context():
        stored = extensions.session().get(ParticipationRating, rating)
        assert stored is not None
        assert stored.reviewed_at is not None


def test_staff_keep_low_rated_work_saying_why_once(
    app: Flask, client: FlaskClient, world: World
) -> None:
    participation = delivered(app, client, world)
    assert approve(client, world, participation) == 200
    high = world.call(
        client, "resident", "POST", f"/participations/{participation}/rating", {"score": 4}
    )
    rating = high.get_json()["id"]
    review = f"/participation-ratings/{rating}/review"
    not_low = world.call(client, "staff", "POST", review, {"note": "核实无误"})
    assert (not_low.status_code, not_low.get_json()["code"]) == (409, "not_rateable")
    world.call(client, "resident", "POST", f"/participations/{participation}/rating", {"score": 2})
    no_reason = world.call(client, "staff", "POST", review, {"note": " "})
    assert no_reason.status_code == 422
    kept = world.call(client, "staff", "POST", review, {"note": "已回访，老人表示满意"})
    assert kept.status_code == 200, kept.get_json()
    assert kept.get_json()["review_note"] == "已回访，老人表示满意"
    twice = world.call(client, "staff", "POST", review, {"note": "再次核实"})
    assert (twice.status_code, twice.get_json()["code"]) == (409, "rating_changed")
    assert world.call(client, "staff", "GET", "/participation-ratings").get_json()["items"] == []


def test_whistling_offers_the_paired_department_first(
    app: Flask, client: FlaskClient, world: World
) -> None:
    made = world.call(client, "root", "POST", "/departments", {"name": "区住建局"})
    assert made.status_code == 201, made.get_json()
    demand = reported(client, world)
    offered = world.call(client, "staff", "GET", f"/demands/{demand}/departments")
    assert offered.status_code == 200, offered.get_json()
    assert [(d["name"], d["paired"]) for d in offered.get_json()] == [
        ("区民政局", True),  # paired with community A (百部联百村)
        ("区住建局", False),
    ]
    other = staff_of_b(app, world)
    assert world.call(client, other, "GET", f"/demands/{demand}/departments").status_code == 404


def _demands(app: Flask) -> int:
    with app.app_context():
        return extensions.session().scalar(select(func.count()).select_from(Demand)) or 0


@pytest.mark.parametrize("racers", [4])
def test_staff_posting_the_task_of_one_order_at_once_make_one(
    app: Flask, client: FlaskClient, world: World, racers: int
) -> None:
    demand = order(client, world).get_json()["id"]
    ok(act(client, world, "staff", demand, "accept"))

    def post(index: int, go: Any) -> int:
        local = app.test_client()
        go()
        return int(
            order_task(local, world, demand, role="staff" if index % 2 else "admin").status_code
        )

    statuses = sorted(all_at_once(racers, post))
    assert statuses == [201] + [409] * (racers - 1)
    with app.app_context():
        session = extensions.session()
        tasks = session.scalars(select(Task).where(Task.demand_id == demand)).all()
        row = session.get(Demand, demand)
        assert row is not None
        assert [task.id for task in tasks] == [row.owner_task_id]


def test_an_officer_acknowledging_while_staff_escalate_ends_in_one_move(
    app: Flask, client: FlaskClient, world: World
) -> None:
    demand = reported(client, world)
    ok(act(client, world, "staff", demand, "accept", level="street"))
    department = world.ids["department"]
    ok(act(client, world, "staff", demand, "assign", owner="department", department_id=department))

    def race(index: int, go: Any) -> int:
        local = app.test_client()
        go()
        if index == 0:
            return int(
                act(local, world, "dept_officer", demand, "start", note="已报到").status_code
            )
        return int(act(local, world, "staff", demand, "assign", owner="staff").status_code)

    officer, staff = all_at_once(2, race)
    # Met head on, one moves it and the other is told it changed (or, for the officer,
    # finds it no longer theirs once staff took it back). When one ran wholly before the
    # other began (the embedded database's write lock queues them), both are fair steps,
    # taken in order: 报到, then staff reassigning it.
    assert (officer, staff) in ((200, 409), (409, 200), (404, 200), (200, 200))
    with app.app_context():
        session = extensions.session()
        row = session.get(Demand, demand)
        assert row is not None
        whistle = session.scalars(
            select(DemandWhistle).where(DemandWhistle.demand_id == demand)
        ).one()
        moves = [officer, staff].count(200)
        assert row.version == 2 + moves  # accept and whistle, then each move once
        steps = session.scalar(
            select(func.count()).select_from(DemandEvent).where(DemandEvent.demand_id == demand)
        )
        assert steps == 3 + moves  # the report too
        acknowledged = whistle.acknowledged_at is not None
        if staff == 200:
            assert (row.status, row.owner_kind, whistle.outcome) == (
                "assigned",
                "staff",
                "withdrawn",
            )
            assert acknowledged is (officer == 200)
        else:
            assert (row.status, acknowledged, whistle.outcome) == ("in_progress", True, None)


def test_a_risky_comment_on_work_is_refused_and_nothing_is_kept(
    app: Flask, client: FlaskClient, world: World
) -> None:
    participation = delivered(app, client, world)
    assert approve(client, world, participation) == 200
    refused = world.call(
        client,
        "resident",
        "POST",
        f"/participations/{participation}/rating",
        {"score": 1, "comment": "送菜的人违规测试词"},
    )
    assert (refused.status_code, refused.get_json()["code"]) == (422, "content_risky")
    with app.app_context():
        count = select(func.count()).select_from(ParticipationRating)
        assert extensions.session().scalar(count) == 0
