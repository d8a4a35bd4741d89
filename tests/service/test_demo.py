from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import time_machine
from sqlalchemy import func, select

from points.calendar import LOCAL_TIME
from points.certificates import CertificateStatus
from service.certificates.verification import verify_certificate
from service.db import utcnow
from service.demands.models import Demand, DemandRating, DemandWhistle
from service.demo.world import seed_demo_world
from service.households.models import HouseholdPairing
from service.ledger.models import Transfer
from service.people.models import RoleGrant, User
from service.places.models import Place
from service.proxies.models import ProxyAct, ProxyLink
from service.tasks.models import Participation, Task
from service.unit_of_work import UnitOfWork


def test_demo_world_has_the_documented_shape(uow: UnitOfWork) -> None:
    world = seed_demo_world(uow)

    levels = Counter(p["level"] for p in world.places)
    assert levels == {"street": 1, "community": 2, "grid": 4}
    street = next(p for p in world.places if p["level"] == "street")
    assert street["parent_id"] is None
    communities = [p for p in world.places if p["level"] == "community"]
    assert all(c["parent_id"] == street["id"] for c in communities)

    for community in communities:
        grids = {p["id"] for p in world.places if p["parent_id"] == community["id"]}
        assert len(grids) == 2
        in_scope = {community["id"], *grids}
        roles = Counter(
            r["role"]
            for u in world.users
            for r in u["roles"]
            if r["scope_type"] == "org" and r["scope_id"] in in_scope
        )
        assert roles == {"staff": 1, "member": 3, "volunteer": 2, "resident": 2}

    admins = [u for u in world.users if any(r["role"] == "admin" for r in u["roles"])]
    assert [a["roles"] for a in admins] == [
        [{"role": "admin", "scope_type": "org", "scope_id": street["id"]}]
    ]
    assert all(u["openid"].startswith("demo-") for u in world.users)
    stations = world.as_json()["stations"]
    assert sorted(s["org_id"] for s in stations) == sorted(c["id"] for c in communities)
    clerks = {u["openid"]: u for u in world.users if u["openid"].startswith("demo-clerk-")}
    for station in stations:
        [openid] = station["clerk_openids"]
        assert clerks[openid]["roles"] == [
            {"role": "clerk", "scope_type": "station", "scope_id": station["id"]}
        ]
        # One item a member can afford after one door-knocking visit (5 幸福币).
        assert min(item["price"] for item in station["items"]) <= 5
        assert all(item["currency"] == "xingfubi" for item in station["items"])
    tasks = world.as_json()["tasks"]
    for community in communities:
        here = [t for t in tasks if t["org_id"] == community["id"]]
        assert len({t["type"] for t in here}) == len(here) >= 3


def test_demo_world_has_branches_a_pairing_and_dual_reporting(uow: UnitOfWork) -> None:
    world = seed_demo_world(uow)
    [department] = world.departments
    communities = [p for p in world.places if p["level"] == "community"]
    community_branches = {b["place_id"]: b["id"] for b in world.branches if b["place_id"]}
    assert set(community_branches) == {c["id"] for c in communities}
    [department_branch] = [b for b in world.branches if b["department_id"] == department["id"]]
    [pairing] = world.pairings
    assert pairing["department_id"] == department["id"]
    assert pairing["place_id"] == communities[0]["id"]

    members = [u for u in world.users if any(r["role"] == "member" for r in u["roles"])]
    assert all(m["home_branch_id"] for m in members)
    # 双报到: one member belongs to the department's branch but lives in a community.
    dual = [m for m in members if m["home_branch_id"] == department_branch["id"]]
    assert len(dual) == 1
    assert dual[0]["residence_place_id"] is not None


def test_seeding_twice_changes_nothing(uow: UnitOfWork) -> None:
    first = seed_demo_world(uow)
    second = seed_demo_world(uow)
    assert second.as_json() == first.as_json()
    session = uow.session
    assert session.scalar(select(func.count()).select_from(Place)) == len(first.places)
    # Those who sign in, and the resident with no phone whom a proxy acts for (代办).
    everyone = len(first.users) + len(first.proxied)
    assert session.scalar(select(func.count()).select_from(User)) == everyone
    # One grant each, but for the rider, who holds no role here (移动探头).
    roles = {user["openid"]: len(user["roles"]) for user in first.users}
    assert roles.pop("demo-rider-1") == 0
    assert set(roles.values()) == {1}
    granted = len(roles) + len(first.proxied)
    assert session.scalar(select(func.count()).select_from(RoleGrant)) == granted


def test_demo_world_has_households_and_an_open_demand_per_community(uow: UnitOfWork) -> None:
    world = seed_demo_world(uow)
    grids = {p["id"] for p in world.places if p["level"] == "grid"}
    per_grid = Counter(h["org_id"] for h in world.households)
    assert set(per_grid) == grids
    assert all(count >= 3 for count in per_grid.values())
    communities = [p["id"] for p in world.places if p["level"] == "community"]
    assert len(world.demands) == len(communities)
    assert all(d["status"] == "submitted" for d in world.demands)
    parents = {p["id"]: p["parent_id"] for p in world.places}
    assert sorted(parents[d["org_id"]] for d in world.demands) == sorted(communities)
    again = seed_demo_world(uow)
    assert (again.households, again.demands) == (world.households, world.demands)


def test_demo_demands_stand_at_every_stage_of_the_loop(uow: UnitOfWork) -> None:
    world = seed_demo_world(uow)
    statuses = sorted(d["status"] for d in world.demand_journeys)
    assert statuses == sorted(
        [
            "accepted",
            "in_progress",
            "resolved",
            "published",
            "closed",
            "in_progress",  # whistled to the department, which has 报到'd
            "resolved",  # published, then a resident's 2 stars reopened 核查
            "declined",
            "submitted",  # three days old: overdue
        ]
    )
    session = uow.session
    whistled = session.scalars(select(DemandWhistle)).one()
    assert whistled.acknowledged_at is not None
    assert whistled.acknowledged_at <= whistled.acknowledge_due_at
    ratings = sorted(r.score for r in session.scalars(select(DemandRating)))
    assert ratings == [2, 4, 5]
    overdue = session.scalars(select(Demand).where(Demand.due_at < utcnow())).all()
    assert [d.description for d in overdue] == ["6栋电梯按钮失灵，已经三天了"]
    again = seed_demo_world(uow)
    assert again.demand_journeys == world.demand_journeys


def test_demo_has_an_elders_order_a_riders_report_and_paired_households(uow: UnitOfWork) -> None:
    world = seed_demo_world(uow)
    (order, rider) = world.orders
    assert (order["status"], order["order"]) == ("assigned", "delivery")
    session = uow.session
    demand = session.get(Demand, order["id"])
    assert demand is not None
    assert demand.proxy
    assert demand.owner_kind == "task"
    task = session.get(Task, demand.owner_task_id)
    assert task is not None
    assert (task.type, task.household_id, task.status) == (
        "elder_delivery",
        demand.household_id,
        "published",
    )
    elder = session.scalars(select(User).where(User.openid == "demo-resident-1")).one()
    assert demand.served_user_id == elder.id
    report = session.get(Demand, rider["id"])
    assert report is not None
    assert (report.status, report.lat is not None) == ("submitted", True)
    pairings = session.scalars(select(HouseholdPairing)).all()
    assert len(pairings) == 3  # the elder's grid's three doors
    again = seed_demo_world(uow)
    assert again.orders == world.orders
    assert len(session.scalars(select(HouseholdPairing)).all()) == 3


def test_the_demo_holds_a_certified_past_service(uow: UnitOfWork) -> None:
    [certificate] = seed_demo_world(uow).as_json()["certificates"]
    assert certificate["holder_openid"] == "demo-member-1"
    assert certificate["from"] == certificate["to"]
    assert certificate["total_hours"] == "3.00"
    found = verify_certificate(uow.session, certificate["number"])
    assert (found.status, found.holder, found.issuer_name) == (
        CertificateStatus.VALID,
        "李**",
        "幸福社区",
    )
    assert certificate["verify_path"] == f"/api/v1/certificates/{certificate['number']}/verify"


def test_the_demo_has_a_full_task_with_people_waiting_in_line(uow: UnitOfWork) -> None:
    [full] = seed_demo_world(uow).as_json()["waitlists"]
    assert full["capacity"] == 2
    assert full["signed_up_openids"] == ["demo-member-1", "demo-volunteer-1"]
    assert full["waitlist_openids"] == ["demo-member-3", "demo-volunteer-2"]
    task = uow.session.get(Task, full["id"])
    assert task is not None
    assert task.signed_up_count == 2
    # Seeding again queues nobody twice.
    [again] = seed_demo_world(uow).as_json()["waitlists"]
    assert again == full


def test_the_demo_has_a_member_at_each_of_two_levels_by_approved_work(uow: UnitOfWork) -> None:
    levels = seed_demo_world(uow).as_json()["levels"]
    assert [(s["openid"], s["level"], s["hours"]) for s in levels] == [
        ("demo-member-3", "二星", "320.00"),
        ("demo-member-4", "一星", "112.00"),
    ]
    assert "elder_deliveries_10" in levels[0]["badges"]
    assert "first_door_knock" in levels[1]["badges"]
    session = uow.session
    for served in levels:
        member = session.scalars(select(User).where(User.openid == served["openid"])).one()
        work = session.scalars(select(Participation).where(Participation.user_id == member.id))
        approved = [p for p in work if p.status == "approved"]
        # Every hour is work staff approved (crediting it by the rules), not a number set.
        assert sum(p.hours or 0 for p in approved) == Decimal(served["hours"])
        assert all(p.decided_at is not None and p.decided_by_id for p in approved)
        earned = session.scalars(
            select(Transfer.idempotency_key).where(
                Transfer.idempotency_key.in_([f"earn:participation:{p.id}:jifen" for p in approved])
            )
        ).all()
        assert earned


def test_the_demo_has_a_resident_with_a_proxy(uow: UnitOfWork) -> None:
    world = seed_demo_world(uow)
    (proxied,) = world.as_json()["proxied"]
    session = uow.session
    old_man = session.get(User, proxied["user_id"])
    assert old_man is not None
    assert (old_man.name, old_man.openid, old_man.phone_masked) == ("钱爷爷", None, None)
    assert [g.role for g in old_man.grants] == ["resident"]
    link = session.get(ProxyLink, proxied["link_id"])
    assert link is not None
    assert (link.subject_id, link.status, link.consent_method) == (
        old_man.id,
        "active",
        "in_person",
    )
    errand = session.get(Demand, proxied["demand_id"])
    assert errand is not None
    assert (errand.served_user_id, errand.proxy, errand.order_kind) == (old_man.id, True, "errand")
    acts = session.scalars(select(ProxyAct).where(ProxyAct.subject_id == old_man.id)).all()
    assert [(a.deed, a.object_id) for a in acts] == [("demand", errand.id)]
    again = seed_demo_world(uow)
    assert again.as_json()["proxied"] == [proxied]
    assert len(session.scalars(select(ProxyAct)).all()) == 1


def test_demo_world_has_a_weekly_patrol_series_per_community(uow: UnitOfWork) -> None:
    monday_noon = datetime(2026, 3, 2, 12, 0, tzinfo=LOCAL_TIME)
    with time_machine.travel(monday_noon, tick=False):
        world = seed_demo_world(uow)
        communities = [p["id"] for p in world.places if p["level"] == "community"]
        assert sorted(s["org_id"] for s in world.series) == sorted(communities)
        for series in world.series:
            assert (series["weekdays"], series["start_time"]) == ([1, 3], "19:30")
            days = [o["occurrence_date"] for o in series["occurrences"]]
            assert days == ["2026-03-03", "2026-03-05", "2026-03-10", "2026-03-12"]
            for occurrence in series["occurrences"]:
                task = uow.session.get(Task, occurrence["id"])
                assert task is not None
                assert (task.type, task.status, task.series_id) == (
                    "patrol",
                    "published",
                    series["id"],
                )
                member = uow.session.scalars(
                    select(Participation.user_id).where(Participation.task_id == task.id)
                ).all()
                assert member == [series["member_id"]]
        assert seed_demo_world(uow).series == world.series
    # A week on, seeding again posts the days that came within the horizon.
    with time_machine.travel(monday_noon + timedelta(days=7), tick=False):
        later = seed_demo_world(uow).series[0]["occurrences"]
        assert [o["occurrence_date"] for o in later][-2:] == ["2026-03-17", "2026-03-19"]
