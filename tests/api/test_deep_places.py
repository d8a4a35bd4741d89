"""A place tree seven levels deep, end to end over HTTP: 区 → 街道 → 社区 → 小区 → 网格 →
楼栋 → 单元, built by its first admin, with staff granted on the estate in the middle and
members living at the bottom. Grants cover what is below them, boards count a member on
every place from their unit up, and tasks reach them from their community and above."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from api.cli import cli
from points.places import MAX_DEPTH
from tests.api.test_access_matrix import new_task_body
from tests.api.test_leaderboards import swept

SEVEN = [
    ("幸福街道", "street"),
    ("幸福社区", "community"),
    ("阳光小区", "estate"),
    ("第一网格", "grid"),
    ("3栋", "building"),
    ("2单元", "unit"),
]


@dataclass
class Town:
    client: FlaskClient
    places: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        return self.client.open(
            f"/api/v1{path}",
            method=method,
            json=body,
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )

    def sign_in(self, who: str) -> None:
        """Sign in (again: a new grant ends the old token) in fake WeChat mode."""
        answer = self.client.post("/api/v1/auth/wechat", json={"code": f"o-{who}"})
        assert answer.status_code == 200, answer.get_json()
        self.tokens[who] = answer.get_json()["access_token"]
        self.users[who] = answer.get_json()["user"]["id"]

    def add_place(self, who: str, name: str, level: str, parent: str) -> Any:
        return self.call(
            who, "POST", "/places", {"parent_id": self.places[parent], "name": name, "level": level}
        )

    def grant(self, who: str, role: str, place: str, by: str = "admin") -> None:
        given = self.call(
            by,
            "POST",
            f"/users/{self.users[who]}/grants",
            {"role": role, "scope_type": "org", "scope_id": self.places[place]},
        )
        assert given.status_code == 201, given.get_json()
        self.sign_in(who)

    def board(self, who: str, place: str) -> Any:
        return self.call(who, "GET", f"/leaderboards/jifen?scope=org:{self.places[place]}")


def build_town(client: FlaskClient, runner: FlaskCliRunner) -> Town:
    made = runner.invoke(
        cli,
        ["admin", "create", "--name", "区管理员", "--openid", "o-admin", "--root-name", "连心区"],
    )
    assert made.exit_code == 0, made.output
    town = Town(client)
    town.sign_in("admin")
    root = town.call("admin", "GET", "/places").get_json()["items"]
    town.places["连心区"] = root[0]["id"]
    parent = "连心区"
    for depth, (name, level) in enumerate(SEVEN, start=2):
        created = town.add_place("admin", name, level, parent)
        assert created.status_code == 201, created.get_json()
        body = created.get_json()
        assert (body["level"], body["parent_id"]) == (level, town.places[parent])
        assert body["path"].count("/") - 1 == depth  # a path of ids from the root
        town.places[name] = body["id"]
        parent = name
    # Beside the chain: another grid of the estate, another community of the street.
    for name, level, under in (
        ("第二网格", "grid", "阳光小区"),
        ("和平社区", "community", "幸福街道"),
        ("和平网格", "grid", "和平社区"),
    ):
        created = town.add_place("admin", name, level, under)
        assert created.status_code == 201, created.get_json()
        town.places[name] = created.get_json()["id"]
    for who in ("bottom", "neighbour", "faraway", "estate_staff", "other_staff"):
        town.sign_in(who)
    for who, home in (
        ("bottom", "2单元"),
        ("neighbour", "第二网格"),
        ("faraway", "和平网格"),
        ("estate_staff", "阳光小区"),
        ("other_staff", "和平社区"),
    ):
        moved = town.call(who, "PATCH", "/me", {"residence_place_id": town.places[home]})
        assert moved.status_code == 200, moved.get_json()
    town.grant("estate_staff", "staff", "阳光小区")
    town.grant("other_staff", "staff", "和平社区")
    return town


def test_a_seven_level_tree_is_built_and_read_back_in_tree_order(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    town = build_town(client, runner)
    chain = ["连心区", *(name for name, _ in SEVEN)]
    under = town.call("admin", "GET", f"/places?under={town.places['阳光小区']}").get_json()
    assert [p["name"] for p in under["items"]] == [
        "阳光小区",
        "第一网格",
        "3栋",
        "2单元",
        "第二网格",
    ]
    unit = town.call("admin", "GET", f"/places/{town.places['2单元']}").get_json()
    assert unit["path"] == "/" + "".join(f"{town.places[name]}/" for name in chain)
    # A tier repeats at any depth (a micro-grid in a grid); nothing sits above its parent.
    micro = town.add_place("admin", "第一微网格", "grid", "第一网格")
    assert micro.status_code == 201, micro.get_json()
    upside_down = town.add_place("admin", "楼里的社区", "community", "3栋")
    assert (upside_down.status_code, upside_down.get_json()["code"]) == (422, "invalid_input")
    assert list(upside_down.get_json()["errors"]) == ["level"]
    names = [p["name"] for p in town.call("admin", "GET", "/places?limit=100").get_json()["items"]]
    assert "楼里的社区" not in names
    assert len(names) == 11


def test_a_grant_on_the_estate_covers_everything_below_it_and_nothing_beside(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    town = build_town(client, runner)
    places = town.places
    for door, place in (("2单元402", "2单元"), ("3栋门卫", "3栋"), ("网格站", "第一网格")):
        made = town.call(
            "estate_staff", "POST", "/households", {"org_id": places[place], "label": door}
        )
        assert made.status_code == 201, made.get_json()
    for place in ("幸福社区", "和平网格"):  # above the grant, and beside it
        refused = town.call(
            "estate_staff", "POST", "/households", {"org_id": places[place], "label": "1号"}
        )
        assert refused.status_code == 404, refused.get_json()
    listed = town.call("estate_staff", "GET", "/households").get_json()["items"]
    assert sorted(h["label"] for h in listed) == ["2单元402", "3栋门卫", "网格站"]
    assert town.call("other_staff", "GET", "/households").get_json()["items"] == []

    # People: those living below the estate are the estate staff's, however deep.
    people = {u["id"] for u in town.call("estate_staff", "GET", "/users").get_json()["items"]}
    assert {town.users["bottom"], town.users["neighbour"]} <= people
    assert town.users["faraway"] not in people
    award = {"kind": "award", "currency": "jifen", "amount": 10, "reason": "楼道清扫"}
    given = town.call("estate_staff", "POST", f"/users/{town.users['bottom']}/adjustments", award)
    assert (given.status_code, given.get_json()["status"]) == (201, "posted")
    refused = town.call("other_staff", "POST", f"/users/{town.users['bottom']}/adjustments", award)
    assert refused.status_code == 404
    assert town.call("other_staff", "GET", f"/users/{town.users['bottom']}").status_code == 404

    # Tasks: posted at the building below the grant, not at the community above it.
    task = town.call("estate_staff", "POST", "/tasks", new_task_body(places["3栋"]))
    assert task.status_code == 201, task.get_json()
    above = town.call("estate_staff", "POST", "/tasks", new_task_body(places["幸福社区"]))
    assert above.status_code == 404
    # The place tree itself is the admin's: staff cannot add to it, even below their grant.
    assert town.add_place("estate_staff", "4栋", "building", "第一网格").status_code == 403


def test_a_member_at_the_bottom_counts_on_every_board_from_their_unit_up(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    town = build_town(client, runner)
    for who, amount in (("bottom", 10), ("neighbour", 25), ("faraway", 40)):
        award = {"kind": "award", "currency": "jifen", "amount": amount, "reason": "志愿服务"}
        given = town.call("admin", "POST", f"/users/{town.users[who]}/adjustments", award)
        assert given.status_code == 201, given.get_json()
    swept(app)

    def standing(place: str) -> list[tuple[int, int, int]]:
        answer = town.board("bottom", place)
        assert answer.status_code == 200, (place, answer.get_json())
        body = answer.get_json()
        assert body["stale"] is False
        assert body["me"]["score"] == 10
        return [(i["rank"], i["user_id"], i["score"]) for i in body["items"]]

    bottom, neighbour, faraway = (town.users[w] for w in ("bottom", "neighbour", "faraway"))
    everyone = [(1, faraway, 40), (2, neighbour, 25), (3, bottom, 10)]
    assert standing("连心区") == everyone
    assert standing("幸福街道") == everyone
    assert standing("幸福社区") == [(1, neighbour, 25), (2, bottom, 10)]
    assert standing("阳光小区") == [(1, neighbour, 25), (2, bottom, 10)]
    for place in ("第一网格", "3栋", "2单元"):
        assert standing(place) == [(1, bottom, 10)]
    # Boards beside where they live are not theirs to read.
    for place in ("第二网格", "和平社区", "和平网格"):
        assert town.board("bottom", place).status_code == 404
    # The estate's staff read every board in and below their estate.
    assert town.board("estate_staff", "2单元").status_code == 200
    assert town.board("estate_staff", "和平网格").status_code == 404


def test_tasks_reach_a_member_at_the_bottom_from_their_community_and_above(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    town = build_town(client, runner)
    town.grant("bottom", "member", "2单元", by="estate_staff")
    posted = {}
    for place in ("连心区", "幸福街道", "幸福社区", "第二网格", "3栋", "和平社区", "和平网格"):
        body = {**new_task_body(town.places[place]), "title": f"{place}的任务", "publish": True}
        made = town.call("admin", "POST", "/tasks", body)
        assert made.status_code == 201, made.get_json()
        posted[place] = made.get_json()["id"]

    seen = {t["id"] for t in town.call("bottom", "GET", "/tasks?limit=100").get_json()["items"]}
    reach = {"连心区", "幸福街道", "幸福社区", "第二网格", "3栋"}
    assert seen == {posted[place] for place in reach}
    for place, task in posted.items():
        status = town.call("bottom", "GET", f"/tasks/{task}").status_code
        assert status == (200 if place in reach else 404), place
    signed = town.call("bottom", "POST", f"/tasks/{posted['3栋']}/signups")
    assert (signed.status_code, signed.get_json()["status"]) == (201, "signed_up")
    elsewhere = town.call("bottom", "POST", f"/tasks/{posted['和平网格']}/signups")
    assert elsewhere.status_code == 404


def test_the_tree_stops_at_its_depth_limit_with_a_422_and_nothing_written(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    town = build_town(client, runner)
    parent = "2单元"  # seven levels down
    for depth in range(8, MAX_DEPTH + 1):
        created = town.add_place("admin", f"{depth}层", "unit", parent)
        assert created.status_code == 201, created.get_json()
        town.places[f"{depth}层"] = created.get_json()["id"]
        parent = f"{depth}层"
    too_deep = town.add_place("admin", "再深一层", "unit", parent)
    assert (too_deep.status_code, too_deep.get_json()["code"]) == (422, "invalid_input")
    assert too_deep.get_json()["errors"] == {"parent_id": [f"would be {MAX_DEPTH + 1} levels deep"]}
    # Moving the deepest branch under a deeper place would pass the limit too.
    moved = town.call(
        "admin", "PATCH", f"/places/{town.places['8层']}", {"parent_id": town.places["9层"]}
    )
    assert moved.status_code == 422  # under itself
    sideways = town.call(
        "admin", "PATCH", f"/places/{town.places['3栋']}", {"parent_id": town.places["第二网格"]}
    )
    assert sideways.status_code == 200  # the same depth: fine
    deeper = town.add_place("admin", "侧楼", "building", "第二网格")
    assert deeper.status_code == 201
    push = town.call(
        "admin",
        "PATCH",
        f"/places/{town.places['3栋']}",
        {"parent_id": deeper.get_json()["id"]},
    )
    assert (push.status_code, list(push.get_json()["errors"])) == (422, ["parent_id"])
    unit = town.call("admin", "GET", f"/places/{town.places['2单元']}").get_json()
    assert unit["path"].startswith(
        f"/{town.places['连心区']}/{town.places['幸福街道']}/{town.places['幸福社区']}/"
        f"{town.places['阳光小区']}/{town.places['第二网格']}/{town.places['3栋']}/"
    )
    names = [p["name"] for p in town.call("admin", "GET", "/places?limit=100").get_json()["items"]]
    assert "再深一层" not in names
