"""Admin endpoints: what they do, and that bad requests change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.world import World


def tree(client: FlaskClient, world: World) -> dict[int, dict[str, Any]]:
    items = world.call(client, "member", "GET", "/places?limit=100").get_json()["items"]
    return {item["id"]: item for item in items}


def test_moving_a_place_moves_its_subtree(client: FlaskClient, world: World) -> None:
    building = world.call(
        client,
        "root",
        "POST",
        "/places",
        {"parent_id": world.ids["grid_A"], "name": "1号楼", "level": "building"},
    )
    assert building.status_code == 201
    moved = world.call(
        client,
        "root",
        "PATCH",
        f"/places/{world.ids['grid_A']}",
        {"parent_id": world.ids["community_B"]},
    )
    assert moved.status_code == 200
    places = tree(client, world)
    grid, house = places[world.ids["grid_A"]], places[building.get_json()["id"]]
    assert grid["parent_id"] == world.ids["community_B"]
    assert grid["path"] == f"/{world.ids['street']}/{world.ids['community_B']}/{grid['id']}/"
    assert house["path"] == f"{grid['path']}{house['id']}/"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"parent_id": "grid_A"}, 422, "invalid_input"),  # under itself
        ({"parent_id": "street"}, 200, None),  # a grid may sit under a street
        ({"parent_id": 999999}, 404, "not_found"),
        ({"name": ""}, 422, "validation_error"),
        ({"level": "street"}, 422, "validation_error"),  # level is not changeable
        ({"name": "网格B"}, 200, None),  # names are unique per parent, not globally
    ],
)
def test_place_changes(
    client: FlaskClient, world: World, change: dict[str, Any], status: int, code: str | None
) -> None:
    body = {
        k: world.ids.get(v, v) if isinstance(v, str) and k == "parent_id" else v
        for k, v in change.items()
    }
    before = tree(client, world)
    response = world.call(client, "root", "PATCH", f"/places/{world.ids['grid_A']}", body)
    assert response.status_code == status
    if code:
        assert response.get_json()["code"] == code
        assert tree(client, world) == before


def test_a_community_cannot_move_under_its_own_grid(client: FlaskClient, world: World) -> None:
    before = tree(client, world)
    response = world.call(
        client,
        "root",
        "PATCH",
        f"/places/{world.ids['community_A']}",
        {"parent_id": world.ids["grid_A"]},
    )
    assert response.status_code == 422
    assert tree(client, world) == before


def test_sibling_names_are_unique(client: FlaskClient, world: World) -> None:
    response = world.call(
        client,
        "root",
        "POST",
        "/places",
        {"parent_id": world.ids["community_A"], "name": "网格A", "level": "grid"},
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "name_taken"


@pytest.mark.parametrize(
    "body",
    [
        {"parent_id": 1, "name": "x", "level": "planet"},
        {"name": "x", "level": "grid"},
        {"parent_id": 0, "name": "x", "level": "grid"},
        {"parent_id": 1, "name": "x" * 101, "level": "grid"},
    ],
)
def test_bad_new_places_are_422(client: FlaskClient, world: World, body: dict[str, Any]) -> None:
    before = tree(client, world)
    response = world.call(client, "root", "POST", "/places", body)
    assert response.status_code == 422
    assert tree(client, world) == before


def test_a_branch_belongs_to_exactly_one_owner(client: FlaskClient, world: World) -> None:
    both = world.call(
        client,
        "root",
        "POST",
        "/branches",
        {
            "name": "支部",
            "place_id": world.ids["community_A"],
            "department_id": world.ids["department"],
        },
    )
    neither = world.call(client, "root", "POST", "/branches", {"name": "支部"})
    assert (both.status_code, neither.status_code) == (422, 422)
    department_branch = world.call(
        client,
        "root",
        "POST",
        "/branches",
        {"name": "机关第一支部", "department_id": world.ids["department"]},
    )
    assert department_branch.status_code == 201
    again = world.call(
        client,
        "root",
        "POST",
        "/branches",
        {"name": "机关第一支部", "department_id": world.ids["department"]},
    )
    assert again.status_code == 409
    assert again.get_json()["code"] == "already_exists"


def test_pairings_start_end_once_and_pair_only_communities(
    client: FlaskClient, world: World
) -> None:
    path = f"/pairings/{world.ids['pairing_A']}/end"
    early = world.call(client, "root", "POST", path, {"ended_on": "2025-12-31"})
    assert early.status_code == 422
    ended = world.call(client, "root", "POST", path, {"ended_on": "2026-06-30"})
    assert ended.status_code == 200
    assert ended.get_json()["ended_on"] == "2026-06-30"
    twice = world.call(client, "root", "POST", path, {"ended_on": "2026-07-31"})
    assert twice.status_code == 409
    grid = world.call(
        client,
        "root",
        "POST",
        "/pairings",
        {
            "department_id": world.ids["department"],
            "place_id": world.ids["grid_A"],
            "started_on": "2026-01-01",
        },
    )
    assert grid.status_code == 422
    duplicate = world.call(
        client,
        "root",
        "POST",
        "/pairings",
        {
            "department_id": world.ids["department"],
            "place_id": world.ids["community_A"],
            "started_on": "2026-01-01",
        },
    )
    assert duplicate.status_code == 409


def test_staff_list_only_people_of_their_community(client: FlaskClient, world: World) -> None:
    seen = {
        p["id"] for p in world.call(client, "staff", "GET", "/users?limit=100").get_json()["items"]
    }
    assert world.ids["person_A"] in seen
    assert world.ids["person_B"] not in seen
    everyone = {
        p["id"] for p in world.call(client, "root", "GET", "/users?limit=100").get_json()["items"]
    }
    assert {world.ids["person_A"], world.ids["person_B"]} <= everyone


def test_lists_page_with_cursors(client: FlaskClient, world: World) -> None:
    first = world.call(client, "root", "GET", "/places?limit=2").get_json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    rest = world.call(client, "root", "GET", f"/places?limit=100&cursor={first['next_cursor']}")
    ids = [p["id"] for p in first["items"]] + [p["id"] for p in rest.get_json()["items"]]
    assert len(ids) == len(set(ids)) == 5
    assert rest.get_json()["next_cursor"] is None
    bad = world.call(client, "root", "GET", "/places?cursor=%%%")
    assert bad.status_code == 422
    too_many = world.call(client, "root", "GET", "/places?limit=101")
    assert too_many.status_code == 422


def test_staff_grant_service_roles_but_not_staff(client: FlaskClient, world: World) -> None:
    person = world.ids["person_A"]
    ok = world.call(
        client,
        "staff",
        "POST",
        f"/users/{person}/grants",
        {"role": "volunteer", "scope_type": "org", "scope_id": world.ids["grid_A"]},
    )
    assert ok.status_code == 201
    assert {"volunteer", "member"} == {g["role"] for g in ok.get_json()["roles"]}
    promote = world.call(
        client,
        "staff",
        "POST",
        f"/users/{person}/grants",
        {"role": "staff", "scope_type": "org", "scope_id": world.ids["community_A"]},
    )
    assert promote.status_code == 403
    elsewhere = world.call(
        client,
        "staff",
        "POST",
        f"/users/{person}/grants",
        {"role": "volunteer", "scope_type": "org", "scope_id": world.ids["grid_B"]},
    )
    assert elsewhere.status_code == 404
    roles = world.call(client, "staff", "GET", f"/users/{person}").get_json()["roles"]
    assert {g["role"] for g in roles} == {"volunteer", "member"}


def test_a_role_change_ends_the_persons_access_tokens(
    app: Flask, client: FlaskClient, world: World
) -> None:
    member_token = world.tokens["member"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {member_token}"}).get_json()
    world.call(
        client,
        "root",
        "POST",
        f"/users/{me['id']}/grants",
        {"role": "volunteer", "scope_type": "org", "scope_id": world.ids["grid_A"]},
    )
    after = client.get("/api/v1/me", headers={"Authorization": f"Bearer {member_token}"})
    assert after.status_code == 401
    assert after.get_json()["code"] == "token_outdated"


def test_staff_move_a_person_and_their_roles_follow(client: FlaskClient, world: World) -> None:
    community_a = world.ids["community_A"]
    new_grid = world.call(
        client,
        "root",
        "POST",
        "/places",
        {"parent_id": community_a, "name": "新网格", "level": "grid"},
    ).get_json()
    person = world.ids["person_A"]
    moved = world.call(
        client, "staff", "PATCH", f"/users/{person}", {"residence_place_id": new_grid["id"]}
    )
    assert moved.status_code == 200
    body = moved.get_json()
    assert body["residence_place_id"] == new_grid["id"]
    assert [(g["role"], g["scope_id"]) for g in body["roles"]] == [("member", new_grid["id"])]
    away = world.call(
        client,
        "staff",
        "PATCH",
        f"/users/{person}",
        {"residence_place_id": world.ids["grid_B"]},
    )
    assert away.status_code == 404
    after = world.call(client, "staff", "GET", f"/users/{person}").get_json()
    assert after["residence_place_id"] == new_grid["id"]


def test_only_admins_disable_accounts_and_it_ends_sign_in(
    client: FlaskClient, world: World
) -> None:
    member_id = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {world.tokens['member']}"}
    ).get_json()["id"]
    by_staff = world.call(client, "staff", "PATCH", f"/users/{member_id}", {"active": False})
    assert by_staff.status_code == 403
    by_admin = world.call(client, "admin", "PATCH", f"/users/{member_id}", {"active": False})
    assert by_admin.status_code == 200
    assert by_admin.get_json()["active"] is False
    denied = client.get("/api/v1/me", headers={"Authorization": f"Bearer {world.tokens['member']}"})
    assert denied.status_code == 401
    self_disable = world.call(
        client,
        "admin",
        "PATCH",
        f"/users/{world.call(client, 'admin', 'GET', '/me').get_json()['id']}",
        {"active": False},
    )
    assert self_disable.status_code == 403
