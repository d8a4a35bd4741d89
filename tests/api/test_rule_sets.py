"""Drafting, checking, simulating and publishing earning rules through HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from points.rules import starter_rule_set
from tests.api.world import World


def call(
    client: FlaskClient,
    world: World,
    role: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
) -> Any:
    return world.call(client, role, method, f"/rule-sets{path}", body)


def new_draft(client: FlaskClient, world: World, content: dict[str, Any] | None = None) -> Any:
    return call(
        client,
        world,
        "admin",
        "POST",
        "",
        {
            "org_id": world.ids["community_A"],
            "effective_from": "2027-01-01",
            "content": content or starter_rule_set(),
            "note": "2027 rules",
        },
    )


def test_draft_simulate_publish_and_history(client: FlaskClient, world: World) -> None:
    draft = new_draft(client, world)
    assert draft.status_code == 201
    body = draft.get_json()
    assert (body["version"], body["status"]) == (2, "draft")  # the world has v1 already
    rule_set = body["id"]

    simulated = call(
        client,
        world,
        "staff",
        "POST",
        f"/{rule_set}/simulate",
        {
            "facts": {
                "event": "task_completed",
                "role": "member",
                "task_type": "door_knock",
                "units": 4,
                "work_unit": "households",
            },
            "earned": {"xingfubi": {"day": 45}},
        },
    )
    assert simulated.status_code == 200
    awards = {a["currency"]: a for a in simulated.get_json()["awards"]}
    assert awards["jifen"]["amount"] == 5 + 2 * 4
    assert awards["xingfubi"]["uncapped"] == 2 + 4
    assert awards["xingfubi"]["amount"] == 5  # daily cap 50, 45 already earned
    assert "daily cap 50, 5 left" in awards["xingfubi"]["explanation"]

    changed = call(client, world, "admin", "PATCH", f"/{rule_set}", {"note": "checked"})
    assert changed.status_code == 200
    published = call(client, world, "admin", "POST", f"/{rule_set}/publish")
    assert published.status_code == 200
    assert published.get_json()["status"] == "published"
    assert published.get_json()["label"] == f"place:{world.ids['community_A']}/v2"

    frozen = call(client, world, "admin", "PATCH", f"/{rule_set}", {"note": "too late"})
    assert frozen.status_code == 409
    assert frozen.get_json()["code"] == "already_published"
    again = call(client, world, "admin", "POST", f"/{rule_set}/publish")
    assert again.status_code == 409

    history = call(client, world, "staff", "GET", f"/{rule_set}/history").get_json()["items"]
    assert [h["action"] for h in history] == [
        "rule_set.draft",
        "rule_set.change",
        "rule_set.publish",
    ]
    assert history[1]["before"]["note"] == "2027 rules"
    assert history[1]["after"]["note"] == "checked"
    assert history[2]["after"]["status"] == "published"


def test_an_invalid_rule_set_lists_every_problem_and_nothing_is_saved(
    client: FlaskClient, world: World
) -> None:
    bad = {
        "rules": [{"name": "", "awards": {"jifen": {"base": -1}, "dollars": {"base": 1}}}],
        "caps": {"jifen": {"hour": 5}},
    }
    before = call(client, world, "admin", "GET", f"?org_id={world.ids['community_A']}")
    response = new_draft(client, world, bad)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {
        "rules[0].name",
        "rules[0].awards.jifen.base",
        "rules[0].awards.dollars",
        "caps.jifen.hour",
    } <= set(errors)
    after = call(client, world, "admin", "GET", f"?org_id={world.ids['community_A']}")
    assert after.get_json() == before.get_json()
    checked = call(client, world, "member", "POST", "/validate", {"content": bad})
    assert checked.status_code == 422
    fine = call(client, world, "member", "POST", "/validate", {"content": starter_rule_set()})
    assert fine.get_json() == {"valid": True, "rules": 11}


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"event": "task_completed", "role": "staff"}, "role"),
        ({"event": "party", "role": "member"}, "event"),
        ({"event": "task_completed", "role": "member", "hours": -1}, "hours"),
        ({"event": "task_completed", "role": "member", "task_type": "dancing"}, "task_type"),
    ],
)
def test_bad_simulation_facts_are_422(
    client: FlaskClient, world: World, facts: dict[str, Any], field: str
) -> None:
    response = call(
        client, world, "admin", "POST", f"/{world.ids['rules_A']}/simulate", {"facts": facts}
    )
    assert response.status_code == 422
    assert field in str(response.get_json()["errors"])


def test_a_draft_needs_a_real_place(client: FlaskClient, world: World) -> None:
    response = call(
        client,
        world,
        "root",
        "POST",
        "",
        {"org_id": 999999, "effective_from": "2027-01-01", "content": starter_rule_set()},
    )
    assert response.status_code == 404
