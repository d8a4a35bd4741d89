"""A household's visit history, and the register in order of who was visited longest
ago: so that "not visited this quarter" is one filter."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from points.calendar import local_date
from service.db import utcnow
from tests.api.community_helpers import ledger_is_clean, publish_starter_rules
from tests.api.test_households import add_household, log_visit, user_id
from tests.api.world import World


@pytest.fixture
def rules(app: Flask, world: World) -> None:
    publish_starter_rules(app, world)


def visit(
    client: FlaskClient,
    world: World,
    household: int,
    at: datetime,
    *,
    role: str = "member",
    note: str = "",
    decision: str | None = "confirm",
) -> int:
    """A visit logged by ``role`` at ``at``, then confirmed or rejected by staff (or left)."""
    logged = log_visit(client, world, household, role=role, visited_at=at.isoformat(), note=note)
    assert logged.status_code == 201, logged.get_json()
    visit_id: int = logged.get_json()["id"]
    if decision is not None:
        body = {"reason": "照片看不清"} if decision == "reject" else None
        done = world.call(client, "staff", "POST", f"/household-visits/{visit_id}/{decision}", body)
        assert done.status_code == 200, done.get_json()
    return visit_id


def history(client: FlaskClient, world: World, household: int, query: str = "") -> Any:
    return world.call(client, "staff", "GET", f"/households/{household}/visits{query}")


def listed(client: FlaskClient, world: World, query: str, role: str = "staff") -> list[int]:
    response = world.call(client, role, "GET", f"/households?{query}")
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_a_households_visits_newest_first_with_who_what_and_whether_confirmed(
    app: Flask, client: FlaskClient, world: World, rules: None
) -> None:
    household = world.ids["household_A"]  # the world logged one visit to it, just now
    now = utcnow()
    oldest = visit(client, world, household, now - timedelta(days=3), note="送米上门")
    rejected = visit(
        client,
        world,
        household,
        now - timedelta(days=1),
        role="volunteer",
        note="陪聊\n半小时",
        decision="reject",
    )
    elsewhere = add_household(client, world, "9栋301")
    visit(client, world, elsewhere, now - timedelta(hours=2))  # another door: not here

    answer = history(client, world, household)
    assert answer.status_code == 200, answer.get_json()
    items = answer.get_json()["items"]
    assert [item["id"] for item in items] == [world.ids["visit_A"], rejected, oldest]
    staff, member, volunteer = (user_id(client, world, r) for r in ("staff", "member", "volunteer"))
    assert [
        (i["visitor_id"], i["visitor_name"], i["note"], i["status"], i["decided_by_id"])
        for i in items
    ] == [
        (world.ids["person_A"], "居民A", "", "submitted", None),
        (volunteer, "volunteer", "陪聊\n半小时", "rejected", staff),
        (member, "member", "送米上门", "confirmed", staff),
    ]
    assert items[1]["reject_reason"] == "照片看不清"
    when = datetime.fromisoformat(items[2]["visited_at"])
    assert abs(when - (now - timedelta(days=3))) < timedelta(seconds=1)
    assert answer.get_json()["next_cursor"] is None

    first = history(client, world, household, "?limit=2").get_json()
    assert [item["id"] for item in first["items"]] == [world.ids["visit_A"], rejected]
    rest = history(client, world, household, f"?limit=2&cursor={first['next_cursor']}").get_json()
    assert ([item["id"] for item in rest["items"]], rest["next_cursor"]) == ([oldest], None)
    assert ledger_is_clean(app)


def test_visit_history_is_for_those_who_keep_the_register_there(
    client: FlaskClient, world: World
) -> None:
    household = world.ids["household_A"]
    assert history(client, world, household).status_code == 200
    assert world.call(client, "admin", "GET", f"/households/{household}/visits").status_code == 200
    # A member may visit the household, but the others' notes are not theirs to read.
    for role in ("member", "volunteer", "resident"):
        refused = world.call(client, role, "GET", f"/households/{household}/visits")
        assert (refused.status_code, refused.get_json()["code"]) == (403, "forbidden")
    # Another community's household does not exist for community A's staff.
    theirs = history(client, world, world.ids["household_B"])
    assert (theirs.status_code, theirs.get_json()["code"]) == (404, "not_found")
    assert history(client, world, 999_999).status_code == 404
    bad = history(client, world, household, "?cursor=bm90LWEtY3Vyc29y")  # "not-a-cursor"
    assert (bad.status_code, list(bad.get_json()["errors"])) == (422, ["cursor"])


def test_the_register_by_last_visit_and_who_was_not_visited_since_a_day(
    client: FlaskClient, world: World, rules: None
) -> None:
    now = utcnow()
    never = world.ids["household_A"]  # its one visit still waits for staff
    long_ago, lately, turned_away = (
        add_household(client, world, label) for label in ("1栋101", "2栋202", "3栋303")
    )
    visit(client, world, long_ago, now - timedelta(days=6))
    visit(client, world, long_ago, now - timedelta(days=5), role="volunteer")
    visit(client, world, lately, now - timedelta(days=1))
    visit(client, world, turned_away, now - timedelta(days=2), decision="reject")
    theirs = add_household(client, world, "1栋101", side="B")

    grid = f"org_id={world.ids['grid_A']}"
    assert listed(client, world, f"{grid}&sort=last_visit") == [
        never,  # never visited (nothing confirmed), by id
        turned_away,
        long_ago,  # last visited five days ago
        lately,
    ]
    shown = {
        item["id"]: item["last_visited_at"]
        for item in world.call(client, "staff", "GET", f"/households?{grid}").get_json()["items"]
    }
    assert shown[never] is None
    assert shown[turned_away] is None
    five_days_ago = datetime.fromisoformat(shown[long_ago])
    assert abs(five_days_ago - (now - timedelta(days=5))) < timedelta(seconds=1)
    one = world.call(client, "staff", "GET", f"/households/{lately}").get_json()
    assert abs(datetime.fromisoformat(one["last_visited_at"]) - (now - timedelta(days=1))) < (
        timedelta(seconds=1)
    )

    # "Not visited since that day": a visit on the day itself counts as a visit.
    since = local_date(now - timedelta(days=1)).isoformat()
    assert listed(client, world, f"never_visited_since={since}") == [never, long_ago, turned_away]
    since = local_date(now - timedelta(days=5)).isoformat()
    assert listed(client, world, f"never_visited_since={since}&sort=last_visit") == [
        never,
        turned_away,
    ]
    future = local_date(now + timedelta(days=1)).isoformat()
    assert len(listed(client, world, f"never_visited_since={future}")) == 4

    # Pages of the visit order go on where they stopped.
    first = world.call(client, "staff", "GET", f"/households?{grid}&sort=last_visit&limit=3")
    body = first.get_json()
    assert [item["id"] for item in body["items"]] == [never, turned_away, long_ago]
    rest = world.call(
        client,
        "staff",
        "GET",
        f"/households?{grid}&sort=last_visit&limit=3&cursor={body['next_cursor']}",
    ).get_json()
    assert ([item["id"] for item in rest["items"]], rest["next_cursor"]) == ([lately], None)

    # Members see the households they may visit, in the same order; nobody sees B's.
    assert listed(client, world, "sort=last_visit", role="member") == [
        never,
        turned_away,
        long_ago,
        lately,
    ]
    assert theirs not in listed(client, world, "sort=last_visit")
    assert listed(client, world, f"sort=last_visit&org_id={world.ids['community_B']}") == []
    assert listed(client, world, f"sort=last_visit&org_id={world.ids['community_B']}", "root") == [
        world.ids["household_B"],
        theirs,
    ]
    assert world.call(client, "resident", "GET", "/households?sort=last_visit").status_code == 403


@pytest.mark.parametrize(
    "query",
    ["sort=newest", "never_visited_since=2026-13-01", "never_visited_since=yesterday"],
)
def test_a_bad_order_or_day_is_422_naming_it(client: FlaskClient, world: World, query: str) -> None:
    response = world.call(client, "staff", "GET", f"/households?{query}")
    body = response.get_json()
    assert (response.status_code, body["code"]) == (422, "validation_error")
    assert list(body["errors"]) == [query.split("=")[0]]
