"""The household register, visits to households, and households on submitted work."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from api import extensions
from points.access import Role, ScopeType
from points.households import visit_day
from service.db import utcnow
from service.households.models import HouseholdVisit, ParticipationHousehold
from service.ledger.models import Transfer
from service.people.directory import ensure_grant
from service.people.models import User
from tests.api.community_helpers import balances, ledger_is_clean, publish_starter_rules
from tests.api.test_approvals import HERE, running_task
from tests.api.test_uploads import uploaded
from tests.api.world import World


@pytest.fixture
def rules(app: Flask, world: World) -> None:
    publish_starter_rules(app, world)


def add_household(
    client: FlaskClient, world: World, label: str, side: str = "A", **more: Any
) -> int:
    created = world.call(
        client,
        "staff" if side == "A" else "root",
        "POST",
        "/households",
        {"org_id": world.side(side, "grid"), "label": label, **more},
    )
    assert created.status_code == 201, created.get_json()
    household: int = created.get_json()["id"]
    return household


def log_visit(
    client: FlaskClient, world: World, household: int, role: str = "member", **more: Any
) -> Any:
    return world.call(
        client,
        role,
        "POST",
        "/household-visits",
        {"household_id": household, "visited_at": utcnow().isoformat(), **more},
    )


def user_id(client: FlaskClient, world: World, role: str) -> int:
    me: int = world.call(client, role, "GET", "/me").get_json()["id"]
    return me


# --- the register ----------------------------------------------------------------


def test_staff_keep_the_register_in_their_scope(client: FlaskClient, world: World) -> None:
    created = world.call(
        client,
        "staff",
        "POST",
        "/households",
        {
            "org_id": world.ids["grid_A"],
            "label": " 3栋2单元402 ",
            "head_name": "王大爷",
            "needs": "独居老人",
        },
    )
    assert created.status_code == 201
    body = created.get_json()
    assert (body["label"], body["head_name"], body["needs"], body["active"]) == (
        "3栋2单元402",
        "王大爷",
        "独居老人",
        True,
    )
    duplicate = world.call(
        client,
        "staff",
        "POST",
        "/households",
        {"org_id": world.ids["grid_A"], "label": "3栋2单元402"},
    )
    assert (duplicate.status_code, duplicate.get_json()["code"]) == (409, "duplicate_household")
    blank = world.call(
        client, "staff", "POST", "/households", {"org_id": world.ids["grid_A"], "label": "  "}
    )
    # Trimmed at the edge, a blank label is an empty one.
    assert (blank.status_code, list(blank.get_json()["errors"])) == (422, ["label"])
    nowhere = world.call(
        client, "staff", "POST", "/households", {"org_id": 999_999, "label": "1栋"}
    )
    assert nowhere.status_code == 404
    missing = world.call(client, "staff", "POST", "/households", {"org_id": world.ids["grid_A"]})
    assert missing.status_code == 422
    assert "label" in missing.get_json()["errors"]


def test_the_list_is_scoped_and_searchable(client: FlaskClient, world: World) -> None:
    mine = add_household(client, world, "5栋1单元101", head_name="李奶奶")
    theirs = add_household(client, world, "5栋1单元101", side="B")

    def ids(role: str, query: str = "") -> list[int]:
        response = world.call(client, role, "GET", f"/households{query}")
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("staff") == [world.ids["household_A"], mine]
    assert ids("member") == [world.ids["household_A"], mine]  # they log visits here
    assert theirs in ids("root")
    assert mine in ids("root")
    assert ids("staff", "?q=李") == [mine]
    assert ids("staff", "?q=5栋") == [mine]
    assert ids("staff", "?q=%") == []  # a wildcard is just a character
    assert ids("root", f"?org_id={world.ids['community_B']}") == [world.ids["household_B"], theirs]
    assert ids("staff", f"?org_id={world.ids['community_B']}") == []
    assert world.call(client, "resident", "GET", "/households").status_code == 403
    paged = world.call(client, "staff", "GET", "/households?limit=1").get_json()
    assert len(paged["items"]) == 1
    assert paged["next_cursor"]
    rest = world.call(client, "staff", "GET", f"/households?limit=1&cursor={paged['next_cursor']}")
    assert [item["id"] for item in rest.get_json()["items"]] == [mine]


def test_changing_a_household(client: FlaskClient, world: World) -> None:
    household = add_household(client, world, "7栋101", head_name="张三")
    changed = world.call(
        client,
        "staff",
        "PATCH",
        f"/households/{household}",
        {"needs": "行动不便", "head_name": None, "active": False},
    )
    assert changed.status_code == 200
    body = changed.get_json()
    assert (body["needs"], body["head_name"], body["active"]) == ("行动不便", None, False)
    active = world.call(client, "staff", "GET", "/households?active=true").get_json()["items"]
    assert household not in [item["id"] for item in active]
    taken = world.call(
        client, "staff", "PATCH", f"/households/{household}", {"label": "3栋2单元401"}
    )
    assert (taken.status_code, taken.get_json()["code"]) == (409, "duplicate_household")
    assert world.call(client, "member", "PATCH", f"/households/{household}", {}).status_code == 403
    assert world.call(client, "member", "GET", f"/households/{household}").status_code == 200


# --- visits ------------------------------------------------------------------------


def test_a_visit_takes_only_the_visitors_own_photos(client: FlaskClient, world: World) -> None:
    someone_elses = uploaded(client, world, "volunteer")
    logged = log_visit(client, world, world.ids["household_A"], upload_ids=[someone_elses])
    assert logged.status_code == 422
    assert logged.get_json()["errors"] == {
        "upload_ids": [f"{someone_elses} is not a photo of yours sent in the last 7 days"]
    }


def test_a_confirmed_visit_credits_the_visitor_once(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    household = world.ids["household_A"]
    photos = [uploaded(client, world), uploaded(client, world)]
    logged = log_visit(client, world, household, note="陪老人聊天", upload_ids=photos)
    assert logged.status_code == 201
    visit = logged.get_json()
    assert (visit["status"], visit["role"], visit["upload_ids"]) == ("submitted", "member", photos)
    queue = world.call(client, "staff", "GET", "/household-visits").get_json()["items"]
    assert [v["id"] for v in queue] == [world.ids["visit_A"], visit["id"]]  # oldest first
    # The staff member confirming sees the photos through links that need no token.
    shown = queue[1]["photos"]
    assert [p["id"] for p in shown] == photos
    assert all(client.get(p["url"]).mimetype == "image/jpeg" for p in shown)

    confirmed = world.call(client, "staff", "POST", f"/household-visits/{visit['id']}/confirm")
    assert confirmed.status_code == 200
    body = confirmed.get_json()
    assert body["visit"]["status"] == "confirmed"
    assert {t["currency"]: t["amount"] for t in body["transfers"]} == {"jifen": 2, "xingfubi": 1}
    assert balances(client, world, "member") == {"jifen": 2, "xingfubi": 1}

    twice = world.call(client, "admin", "POST", f"/household-visits/{visit['id']}/confirm")
    assert (twice.status_code, twice.get_json()["code"]) == (409, "invalid_transition")
    assert balances(client, world, "member") == {"jifen": 2, "xingfubi": 1}
    queue = world.call(client, "staff", "GET", "/household-visits").get_json()["items"]
    assert [v["id"] for v in queue] == [world.ids["visit_A"]]
    mine = world.call(client, "member", "GET", "/me/household-visits").get_json()["items"]
    assert [(v["id"], v["status"]) for v in mine] == [(visit["id"], "confirmed")]
    with app.app_context():
        sources = extensions.session().scalars(
            select(Transfer.source).where(Transfer.source.like("household_visit:%"))
        )
        assert list(sources) == [f"household_visit:{visit['id']}"] * 2
    assert ledger_is_clean(app)


def test_one_visit_per_household_a_day_and_a_rejection_makes_room(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    household = world.ids["household_A"]
    first = log_visit(client, world, household).get_json()
    again = log_visit(client, world, household)
    assert (again.status_code, again.get_json()["code"]) == (409, "already_visited_today")
    other = add_household(client, world, "9栋301")
    assert log_visit(client, world, other).status_code == 201  # another door is fine
    assert log_visit(client, world, household, role="volunteer").status_code == 201

    no_reason = world.call(client, "staff", "POST", f"/household-visits/{first['id']}/reject", {})
    assert no_reason.status_code == 422
    rejected = world.call(
        client, "staff", "POST", f"/household-visits/{first['id']}/reject", {"reason": "没有照片"}
    )
    assert rejected.status_code == 200
    assert (rejected.get_json()["status"], rejected.get_json()["reject_reason"]) == (
        "rejected",
        "没有照片",
    )
    after = world.call(client, "staff", "POST", f"/household-visits/{first['id']}/confirm")
    assert (after.status_code, after.get_json()["code"]) == (409, "invalid_transition")
    assert log_visit(client, world, household).status_code == 201
    assert balances(client, world, "member") == {"jifen": 0, "xingfubi": 0}


def test_the_database_refuses_a_second_credited_visit_the_same_day(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    """Two logs that raced past the check: only one of them can be confirmed."""
    member = user_id(client, world, "member")
    with app.app_context():
        session = extensions.session()
        now = utcnow()
        visits = [
            HouseholdVisit(
                household_id=world.ids["household_A"],
                visitor_id=member,
                role="member",
                visited_at=now - timedelta(minutes=minutes),
                visit_day=visit_day(now),
            )
            for minutes in (1, 2)
        ]
        session.add_all(visits)
        session.commit()
        first, second = (v.id for v in visits)
    assert (
        world.call(client, "staff", "POST", f"/household-visits/{first}/confirm").status_code == 200
    )
    refused = world.call(client, "staff", "POST", f"/household-visits/{second}/confirm")
    assert (refused.status_code, refused.get_json()["code"]) == (409, "already_visited_today")
    with app.app_context():
        row = extensions.session().get(HouseholdVisit, second)
        assert row is not None
        assert row.status == "submitted"
    assert balances(client, world, "member") == {"jifen": 2, "xingfubi": 1}


def test_what_a_visit_log_refuses(client: FlaskClient, world: World) -> None:
    household = world.ids["household_A"]
    future = log_visit(
        client, world, household, visited_at=(utcnow() + timedelta(hours=1)).isoformat()
    )
    assert (future.status_code, list(future.get_json()["errors"])) == (422, ["visited_at"])
    stale = log_visit(
        client, world, household, visited_at=(utcnow() - timedelta(days=8)).isoformat()
    )
    assert stale.status_code == 422
    naive = log_visit(client, world, household, visited_at="2026-11-20T10:00:00")
    assert naive.status_code == 422
    assert log_visit(client, world, 999_999).status_code == 404
    assert log_visit(client, world, world.ids["household_B"]).status_code == 404
    assert log_visit(client, world, household, role="resident").status_code == 403
    world.call(client, "staff", "PATCH", f"/households/{household}", {"active": False})
    inactive = log_visit(client, world, household)
    assert (inactive.status_code, inactive.get_json()["code"]) == (409, "household_inactive")
    confirm_b = world.call(
        client, "staff", "POST", f"/household-visits/{world.ids['visit_B']}/confirm"
    )
    assert confirm_b.status_code == 404


def test_nobody_confirms_their_own_visit(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    with app.app_context():
        session = extensions.session()
        staff = session.get(User, user_id(client, world, "staff"))
        assert staff is not None
        ensure_grant(session, staff, Role.VOLUNTEER, ScopeType.PLACE, world.ids["grid_A"])
        session.commit()
    world.refresh_token(app, "staff")
    visit = log_visit(client, world, world.ids["household_A"], role="staff").get_json()
    assert visit["role"] == "volunteer"
    own = world.call(client, "staff", "POST", f"/household-visits/{visit['id']}/confirm")
    assert (own.status_code, own.get_json()["code"]) == (403, "self_approval")
    assert (
        world.call(client, "admin", "POST", f"/household-visits/{visit['id']}/confirm").status_code
        == 200
    )


# --- households on submitted work ----------------------------------------------------


def checked_out(client: FlaskClient, world: World, task: int, role: str = "member") -> int:
    signed = world.call(client, role, "POST", f"/tasks/{task}/signups").get_json()
    code = world.call(client, "staff", "GET", f"/tasks/{task}/checkin-code").get_json()["code"]
    path = f"/participations/{signed['id']}"
    assert (
        world.call(client, role, "POST", f"{path}/checkin", {**HERE, "code": code}).status_code
        == 200
    )
    assert world.call(client, role, "POST", f"{path}/checkout", HERE).status_code == 200
    participation: int = signed["id"]
    return participation


def test_households_on_submit_count_as_the_units(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    second = add_household(client, world, "3栋2单元402")
    participation = checked_out(client, world, running_task(app, world))
    submitted = world.call(
        client,
        "member",
        "POST",
        f"/participations/{participation}/submit",
        {"note": "敲门", "household_ids": [second, world.ids["household_A"], second]},
    )
    assert submitted.status_code == 200, submitted.get_json()
    body = submitted.get_json()
    assert (body["units"], body["household_ids"]) == (2, sorted([second, world.ids["household_A"]]))
    queue = world.call(client, "staff", "GET", "/approvals").get_json()["items"]
    assert {p["id"]: p["household_ids"] for p in queue}[participation] == body["household_ids"]
    approved = world.call(client, "staff", "POST", f"/participations/{participation}/approve")
    amounts = {t["currency"]: t["amount"] for t in approved.get_json()["transfers"]}
    assert amounts == {"jifen": 5 + 2 * 2, "xingfubi": 2 + 1 * 2}  # 敲门入户, 2 户


def test_given_units_stand_and_hour_work_keeps_its_units(
    app: Flask, client: FlaskClient, world: World
) -> None:
    participation = checked_out(client, world, running_task(app, world))
    submitted = world.call(
        client,
        "member",
        "POST",
        f"/participations/{participation}/submit",
        {"units": 5, "household_ids": [world.ids["household_A"]]},
    )
    assert (submitted.get_json()["units"], submitted.get_json()["household_ids"]) == (
        5,
        [world.ids["household_A"]],
    )


@pytest.mark.parametrize("which", ["other_community", "inactive", "unknown"])
def test_households_outside_the_task_are_refused(
    app: Flask, client: FlaskClient, world: World, which: str
) -> None:
    inactive = add_household(client, world, "废弃楼101")
    world.call(client, "staff", "PATCH", f"/households/{inactive}", {"active": False})
    bad = {"other_community": world.ids["household_B"], "inactive": inactive, "unknown": 999_999}[
        which
    ]
    participation = checked_out(client, world, running_task(app, world))
    refused = world.call(
        client,
        "member",
        "POST",
        f"/participations/{participation}/submit",
        {"household_ids": [world.ids["household_A"], bad]},
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"household_ids": {str(bad): ["not a household here"]}}
    with app.app_context():
        session = extensions.session()
        linked = session.scalar(select(func.count()).select_from(ParticipationHousehold))
        assert linked == 0  # nothing of this submit was kept
    mine = world.call(client, "member", "GET", "/me/participations").get_json()["items"]
    assert {p["id"]: p["status"] for p in mine}[participation] == "checked_out"
