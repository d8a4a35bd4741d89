"""Who lives in a household (住户) and which party member looks after it (党员联户),
and the coverage of those pairings over a period, counted by hand: per grid, per
member, and the doors none of their members visited, in JSON and in the spreadsheet."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from api import extensions
from points.calendar import local_date
from service.auth.tokens import issue_access_token
from service.db import utcnow
from service.households.coverage import XLSX
from service.people.models import User
from tests.api.test_demand_loop import user_id
from tests.api.test_households import add_household, log_visit
from tests.api.test_orders import staff_of_b
from tests.api.world import World


def coverage(client: FlaskClient, world: World, role: str, **query: Any) -> Any:
    return world.call(client, role, "GET", f"/household-coverage?{urlencode(query)}")


def signed_in_now(app: Flask, world: World, key: str, user_id: int) -> str:
    """A token for someone whose roles changed in the test (a grant bumps the version)."""
    with app.app_context():
        user = extensions.session().get(User, user_id)
        assert user is not None
        world.tokens[key] = issue_access_token(
            extensions.settings().secret_key,
            user_id=user.id,
            token_version=user.token_version,
            family=f"fam-{key}",
            now=utcnow(),
        )
    return key


def day(days: int) -> str:
    return (local_date(utcnow()) + timedelta(days=days)).isoformat()


def test_staff_keep_who_lives_in_a_household(app: Flask, client: FlaskClient, world: World) -> None:
    path = f"/households/{world.ids['household_A']}/residents"
    resident = user_id(world, "resident")
    added = world.call(client, "staff", "POST", path, {"user_id": resident})
    assert added.status_code == 201, added.get_json()
    assert added.get_json()["id"] == resident
    twice = world.call(client, "staff", "POST", path, {"user_id": resident})
    assert (twice.status_code, twice.get_json()["code"]) == (409, "already_resident")
    # Someone living in community B is not staff A's to link.
    outsider = world.call(client, "staff", "POST", path, {"user_id": world.ids["shopper_B"]})
    assert outsider.status_code == 404
    other = staff_of_b(app, world)
    assert world.call(client, other, "GET", path).status_code == 404
    assert world.call(client, other, "POST", path, {"user_id": resident}).status_code == 404
    listed = world.call(client, "staff", "GET", path).get_json()
    assert [person["id"] for person in listed] == [resident]
    mine = world.call(client, "resident", "GET", "/me/households").get_json()
    assert [(h["id"], h["label"]) for h in mine] == [(world.ids["household_A"], "3栋2单元401")]

    assert world.call(client, other, "DELETE", f"{path}/{resident}").status_code == 404
    assert world.call(client, "staff", "DELETE", f"{path}/{resident}").status_code == 204
    assert world.call(client, "staff", "GET", path).get_json() == []
    gone = world.call(client, "staff", "DELETE", f"{path}/{resident}")
    assert (gone.status_code, gone.get_json()["errors"]) == (404, {"user_id": ["not here"]})
    assert world.call(client, "resident", "GET", "/me/households").get_json() == []


def test_a_party_member_is_paired_with_households_until_the_pairing_ends(
    app: Flask, client: FlaskClient, world: World
) -> None:
    household = world.ids["household_A"]
    path = f"/households/{household}/pairings"
    member = user_id(world, "member")
    volunteer = world.call(
        client, "staff", "POST", path, {"member_id": user_id(world, "volunteer")}
    )
    assert (volunteer.status_code, volunteer.get_json()["errors"]) == (
        422,
        {"member_id": ["not a party member"]},
    )
    paired = world.call(client, "staff", "POST", path, {"member_id": member})
    assert paired.status_code == 201, paired.get_json()
    pairing = paired.get_json()
    assert (pairing["household_id"], pairing["member_id"], pairing["started_on"]) == (
        household,
        member,
        day(0),
    )
    assert pairing["ended_on"] is None
    twice = world.call(client, "staff", "POST", path, {"member_id": member})
    assert (twice.status_code, twice.get_json()["code"]) == (409, "already_paired")
    mine = world.call(client, "member", "GET", "/me/paired-households").get_json()
    assert [(p["household_id"], p["household_label"]) for p in mine] == [(household, "3栋2单元401")]
    # Members serving there read who looks after a door; residents don't.
    assert world.call(client, "volunteer", "GET", path).status_code == 200
    assert world.call(client, "resident", "GET", path).status_code == 403

    end = f"/household-pairings/{pairing['id']}/end"
    other = staff_of_b(app, world)
    assert world.call(client, other, "POST", end, {}).status_code == 404
    assert world.call(client, "member", "POST", end, {}).status_code == 403
    early = world.call(client, "staff", "POST", end, {"ended_on": day(-1)})
    assert (early.status_code, early.get_json()["errors"]) == (
        422,
        {"ended_on": ["before it started"]},
    )
    ended = world.call(client, "staff", "POST", end, {})
    assert ended.status_code == 200, ended.get_json()
    assert ended.get_json()["ended_on"] == day(0)
    again = world.call(client, "staff", "POST", end, {})
    assert (again.status_code, again.get_json()["code"]) == (409, "pairing_ended")
    # Ended today: still theirs today, and a new pairing may start after it.
    assert len(world.call(client, "member", "GET", "/me/paired-households").get_json()) == 1
    renewed = world.call(client, "staff", "POST", path, {"member_id": member})
    assert renewed.status_code == 201
    history = world.call(client, "staff", "GET", path).get_json()
    assert len(history) == 2


def test_coverage_counts_the_visits_each_paired_member_made_in_the_period(
    app: Flask, client: FlaskClient, world: World
) -> None:
    grid_a2 = world.call(
        client,
        "admin",
        "POST",
        "/places",
        {"parent_id": world.ids["community_A"], "name": "网格A2", "level": "grid"},
    ).get_json()["id"]
    granted = world.call(
        client,
        "staff",
        "POST",
        f"/users/{world.ids['person_A']}/grants",
        {"role": "member", "scope_type": "org", "scope_id": world.ids["community_A"]},
    )
    assert granted.status_code == 201, granted.get_json()
    person = signed_in_now(app, world, "person", world.ids["person_A"])
    h1 = add_household(client, world, "1栋101")
    h2 = add_household(client, world, "1栋102")
    h3 = world.call(
        client, "staff", "POST", "/households", {"org_id": grid_a2, "label": "9栋901"}
    ).get_json()["id"]
    h4 = add_household(client, world, "1栋103")
    member, paired_person = user_id(world, "member"), world.ids["person_A"]

    def pair(household: int, who: int, **more: Any) -> int:
        made = world.call(
            client, "staff", "POST", f"/households/{household}/pairings", {"member_id": who, **more}
        )
        assert made.status_code == 201, made.get_json()
        pairing: int = made.get_json()["id"]
        return pairing

    pair(h1, member)
    pair(h2, member)
    pair(h3, paired_person)
    pair(h1, paired_person)  # two members look after 1栋101
    ended = pair(h4, member, started_on=day(-100))
    world.call(client, "staff", "POST", f"/household-pairings/{ended}/end", {"ended_on": day(-40)})

    def visit(household: int, role: str, decision: str | None) -> None:
        logged = log_visit(client, world, household, role=role)
        assert logged.status_code == 201, logged.get_json()
        if decision is not None:
            body = {"reason": "照片看不清"} if decision == "reject" else None
            path = f"/household-visits/{logged.get_json()['id']}/{decision}"
            assert world.call(client, "staff", "POST", path, body).status_code == 200

    visit(h1, "member", "confirm")  # kept: 1栋101 visited
    visit(h2, "member", "reject")  # not a visit
    visit(h2, "volunteer", "confirm")  # someone else went: not the pairing kept
    visit(h3, person, None)  # logged, not confirmed yet
    visit(h4, "member", "confirm")  # its pairing ended before the period

    query = {"org_id": world.ids["community_A"], "from": day(-30), "to": day(0)}
    found = coverage(client, world, "staff", **query)
    assert found.status_code == 200, found.get_json()
    body = found.get_json()
    assert (body["first_day"], body["last_day"]) == (day(-30), day(0))
    line = ("name", "households", "visited", "not_visited")
    assert {k: body["total"][k] for k in line} == {
        "name": "社区A",
        "households": 3,
        "visited": 1,
        "not_visited": 2,
    }
    assert body["total"]["rate"] == round(1 / 3, 4)
    assert [tuple(g[k] for k in line) for g in body["grids"]] == [
        ("网格A", 2, 1, 1),
        ("网格A2", 1, 0, 1),
    ]
    by_member = {m["id"]: (m["households"], m["visited"]) for m in body["members"]}
    assert by_member == {member: (2, 1), paired_person: (2, 0)}
    assert [(u["label"], u["member_id"]) for u in body["unvisited"]] == [
        ("1栋102", member),
        ("9栋901", paired_person),
    ]
    # 1栋102 was visited, by someone else: the door has waited less long than never.
    assert body["unvisited"][0]["last_visited_at"] is not None
    assert body["unvisited"][1]["last_visited_at"] is None

    with coverage(client, world, "staff", **query, format="xlsx") as sheet:
        assert (sheet.status_code, sheet.mimetype) == (200, XLSX)
        book = load_workbook(io.BytesIO(sheet.data), read_only=True)
    assert book.sheetnames == ["按网格", "按党员", "未走访户"]
    grids = list(book["按网格"].iter_rows(values_only=True))
    assert "社区A" in grids[0][0]
    assert grids[1] == ("网格", "结对户数", "已走访", "未走访", "走访率")
    assert [row[:4] for row in grids[2:]] == [("网格A", 2, 1, 1), ("网格A2", 1, 0, 1)]
    members = list(book["按党员"].iter_rows(values_only=True))[2:]
    assert sorted(row[1:4] for row in members) == [(2, 0, 2), (2, 1, 1)]
    doors = list(book["未走访户"].iter_rows(values_only=True))[2:]
    assert [row[:2] for row in doors] == [("网格A", "1栋102"), ("网格A2", "9栋901")]

    # The period moves with the clock: next month's has no visits yet.
    later = coverage(client, world, "staff", **{**query, "from": day(1), "to": day(31)}).get_json()
    assert (later["total"]["households"], later["total"]["visited"]) == (3, 0)


def test_coverage_is_for_staff_of_the_place(app: Flask, client: FlaskClient, world: World) -> None:
    grid = world.ids["grid_A"]
    assert coverage(client, world, "staff", org_id=grid).status_code == 200
    assert coverage(client, world, "member", org_id=grid).status_code == 403
    other = staff_of_b(app, world)
    assert coverage(client, world, other, org_id=grid).status_code == 404
    backwards = coverage(client, world, "staff", org_id=grid, **{"from": day(0), "to": day(-1)})
    assert (backwards.status_code, backwards.get_json()["errors"]) == (
        422,
        {"to": ["before from"]},
    )
    wrong = coverage(client, world, "staff", org_id=grid, format="pdf")
    assert wrong.status_code == 422
