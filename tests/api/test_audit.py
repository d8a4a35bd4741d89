"""The audit trail: every change of rights and every decision that moves points leaves
exactly one entry (who, what, before and after, where, under which request); a refused
one leaves none; admins read what happened in their places at GET /audit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from api import extensions
from api.cli import cli
from service.audit.models import AuditEntry
from service.auth.tokens import issue_access_token
from service.db import utcnow
from service.people.models import User
from tests.api.world import World

REQUEST_ID = "audit-test:42"


def call(
    client: FlaskClient,
    world: World,
    role: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    token: str | None = None,
) -> TestResponse:
    return client.open(
        f"/api/v1{path}",
        method=method,
        json=body,
        headers={
            "Authorization": f"Bearer {token or world.tokens[role]}",
            "X-Request-ID": REQUEST_ID,
        },
    )


def entries(app: Flask) -> list[AuditEntry]:
    with app.app_context():
        session = extensions.session()
        found = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        session.expunge_all()  # kept as read: the rollback below must not expire them
        session.rollback()
        return found


def user_of(world: World, role: str) -> int:
    return int(jwt.decode(world.tokens[role], options={"verify_signature": False})["sub"])


def token_for(app: Flask, user_id: int) -> str:
    with app.app_context():
        user = extensions.session().get(User, user_id)
        assert user is not None
        return issue_access_token(
            extensions.settings().secret_key,
            user_id=user_id,
            token_version=user.token_version,
            family="fam-audit",
            now=utcnow(),
        )


def publish_rules(client: FlaskClient, world: World, side: str = "A") -> None:
    done = world.call(client, "root", "POST", f"/rule-sets/{world.ids[f'rules_{side}']}/publish")
    assert done.status_code == 200, done.get_json()


def approve(client: FlaskClient, world: World) -> None:
    publish_rules(client, world)
    path = f"/participations/{world.ids['participation_A']}/approve"
    done = world.call(client, "staff", "POST", path)
    assert done.status_code == 200, done.get_json()


@dataclass(frozen=True)
class Audited:
    """An audited action done over HTTP: how to set it up, how to do it, and the one
    entry it must leave."""

    role: str
    method: str
    path: Callable[[World], str]
    body: Callable[[World], dict[str, Any] | None]
    object_type: str
    object_id: Callable[[World], int]
    place: str | None  # the world's name of the place the entry is filed under
    before: Callable[[World], dict[str, Any] | None] = lambda _: None
    # What must be in the entry's after (None: the entry has no after, as a revoke)
    after: Callable[[World], dict[str, Any] | None] = lambda _: {}
    prepare: Callable[[FlaskClient, World], None] | None = None
    by_shopper: bool = False  # done by the world's shopper of community A


def no_body(_: World) -> None:
    return None


CASES: dict[str, Audited] = {
    "grant.create": Audited(
        "staff",
        "POST",
        lambda w: f"/users/{w.ids['person_A']}/grants",
        lambda w: {"role": "volunteer", "scope_type": "org", "scope_id": w.ids["grid_A"]},
        "grant",
        lambda w: 0,  # a new grant: its id is read from the entry
        "grid_A",
        after=lambda w: {"role": "volunteer", "scope_id": w.ids["grid_A"]},
    ),
    "grant.revoke": Audited(
        "staff",
        "DELETE",
        lambda w: f"/users/{w.ids['person_A']}/grants/{w.ids['grant_A']}",
        no_body,
        "grant",
        lambda w: w.ids["grant_A"],
        "grid_A",
        before=lambda w: {
            "user_id": w.ids["person_A"],
            "role": "member",
            "scope_type": "org",
            "scope_id": w.ids["grid_A"],
        },
        after=lambda w: None,
    ),
    "grant.move": Audited(
        "staff",
        "PATCH",
        lambda w: f"/users/{w.ids['person_A']}",
        lambda w: {"residence_place_id": w.ids["community_A"]},
        "grant",
        lambda w: w.ids["grant_A"],
        "community_A",
        before=lambda w: {
            "user_id": w.ids["person_A"],
            "role": "member",
            "scope_type": "org",
            "scope_id": w.ids["grid_A"],
        },
        after=lambda w: {"scope_id": w.ids["community_A"]},
    ),
    "person.disable": Audited(
        "admin",
        "PATCH",
        lambda w: f"/users/{w.ids['person_A']}",
        lambda w: {"active": False},
        "user",
        lambda w: w.ids["person_A"],
        "grid_A",
        before=lambda w: {"active": True},
        after=lambda w: {"active": False},
    ),
    "participation.approve": Audited(
        "staff",
        "POST",
        lambda w: f"/participations/{w.ids['participation_A']}/approve",
        no_body,
        "participation",
        lambda w: w.ids["participation_A"],
        "community_A",
        before=lambda w: {"status": "submitted"},
        after=lambda w: {"status": "approved", "user_id": w.ids["person_A"], "transfers": []},
        prepare=lambda c, w: publish_rules(c, w),
    ),
    "participation.reject": Audited(
        "staff",
        "POST",
        lambda w: f"/participations/{w.ids['participation_A']}/reject",
        lambda w: {"reason": "照片不清楚"},
        "participation",
        lambda w: w.ids["participation_A"],
        "community_A",
        before=lambda w: {"status": "submitted"},
        after=lambda w: {"status": "rejected", "reason": "照片不清楚"},
    ),
    "participation.reverse": Audited(
        "staff",
        "POST",
        lambda w: f"/participations/{w.ids['participation_A']}/reverse",
        lambda w: {"reason": "审核有误"},
        "participation",
        lambda w: w.ids["participation_A"],
        "community_A",
        before=lambda w: {"status": "approved"},
        after=lambda w: {"status": "reversed", "reason": "审核有误", "transfers": []},
        prepare=approve,
    ),
    "adjustment.award": Audited(
        "staff",
        "POST",
        lambda w: f"/users/{w.ids['person_A']}/adjustments",
        lambda w: {"kind": "award", "currency": "jifen", "amount": 5, "reason": "好人好事"},
        "adjustment",
        lambda w: 0,
        "grid_A",
        after=lambda w: {"amount": 5, "status": "posted", "user_id": w.ids["person_A"]},
    ),
    "adjustment.confirm": Audited(
        "staff",
        "POST",
        lambda w: f"/adjustments/{w.ids['adjustment_A']}/confirm",
        no_body,
        "adjustment",
        lambda w: w.ids["adjustment_A"],
        "grid_A",
        before=lambda w: {"status": "pending_confirmation"},
        after=lambda w: {"status": "posted"},
    ),
    "adjustment.reject": Audited(
        "staff",
        "POST",
        lambda w: f"/adjustments/{w.ids['adjustment_A']}/reject",
        lambda w: {"reason": "没有依据"},
        "adjustment",
        lambda w: w.ids["adjustment_A"],
        "grid_A",
        before=lambda w: {"status": "pending_confirmation"},
        after=lambda w: {"status": "rejected", "reason": "没有依据"},
    ),
    "transfer.reverse": Audited(
        "staff",
        "POST",
        lambda w: f"/transfers/{w.ids['earning_A']}/reverse",
        lambda w: {"reason": "审核有误"},
        "transfer",
        lambda w: w.ids["earning_A"],
        "grid_A",
        before=lambda w: {"amount": 20, "currency": "jifen"},
        after=lambda w: {"reason": "审核有误", "user_id": w.ids["person_A"]},
    ),
    "redemption.fulfil": Audited(
        "clerk",
        "POST",
        lambda w: f"/stations/{w.ids['station_A']}/pickups",
        lambda w: {"pickup_code": w.codes["A"]},
        "redemption",
        lambda w: w.ids["redemption_A"],
        "community_A",
        before=lambda w: {"status": "held"},
        after=lambda w: {"status": "fulfilled", "amount": 5, "user_id": w.ids["shopper_A"]},
    ),
    "redemption.cancel": Audited(
        "shopper",
        "POST",
        lambda w: f"/redemptions/{w.ids['redemption_A']}/cancel",
        no_body,
        "redemption",
        lambda w: w.ids["redemption_A"],
        "community_A",
        before=lambda w: {"status": "held"},
        after=lambda w: {"status": "cancelled", "amount": 5},
        by_shopper=True,
    ),
    "visit.confirm": Audited(
        "staff",
        "POST",
        lambda w: f"/household-visits/{w.ids['visit_A']}/confirm",
        no_body,
        "household_visit",
        lambda w: w.ids["visit_A"],
        "grid_A",
        before=lambda w: {"status": "submitted"},
        after=lambda w: {"status": "confirmed", "user_id": w.ids["person_A"]},
    ),
    "demand.accept": Audited(
        "staff",
        "POST",
        lambda w: f"/demands/{w.ids['demand_A']}/accept",
        no_body,
        "demand",
        lambda w: w.ids["demand_A"],
        "grid_A",
        before=lambda w: {"status": "submitted"},
        after=lambda w: {"status": "accepted", "user_id": w.ids["person_A"]},
    ),
    "rule_set.publish": Audited(
        "admin",
        "POST",
        lambda w: f"/rule-sets/{w.ids['rules_A']}/publish",
        no_body,
        "rule_set",
        lambda w: w.ids["rules_A"],
        "community_A",
        before=lambda w: {"status": "draft"},
        after=lambda w: {"status": "published"},
    ),
}


@pytest.mark.parametrize("action", sorted(CASES))
def test_each_audited_action_leaves_exactly_one_entry(
    app: Flask, client: FlaskClient, world: World, action: str
) -> None:
    case = CASES[action]
    if case.prepare is not None:
        case.prepare(client, world)
    already = {entry.id for entry in entries(app)}
    token = token_for(app, world.ids["shopper_A"]) if case.by_shopper else None
    response = call(
        client, world, case.role, case.method, case.path(world), case.body(world), token
    )
    assert response.status_code < 300, response.get_json()

    [entry] = [entry for entry in entries(app) if entry.id not in already]
    actor = world.ids["shopper_A"] if case.by_shopper else user_of(world, case.role)
    assert (entry.action, entry.object_type, entry.actor_id) == (action, case.object_type, actor)
    if case.object_id(world):
        assert entry.object_id == case.object_id(world)
    assert entry.place_id == (world.ids[case.place] if case.place else None)
    assert entry.request_id == REQUEST_ID
    assert (utcnow() - entry.at).total_seconds() < 60
    expected_before = case.before(world)
    if expected_before is None:
        assert entry.before is None
    else:
        assert entry.before is not None
        assert expected_before.items() <= entry.before.items()
    expected_after = case.after(world)
    if expected_after is None:
        assert entry.after is None
        return
    assert entry.after is not None
    assert expected_after.keys() <= entry.after.keys()
    for key, value in expected_after.items():
        if key != "transfers":
            assert entry.after[key] == value, key
    if "transfers" in expected_after:
        # The points the decision moved, each transfer by id.
        assert entry.after["transfers"], entry.after
        assert all({"id", "currency", "amount"} <= set(t) for t in entry.after["transfers"])


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "status"),
    [
        # Another community's objects: the staff, admin and clerk of A get 404.
        ("staff", "POST", "/participations/{participation_B}/approve", None, 404),
        ("staff", "POST", "/participations/{participation_B}/reject", {"reason": "不行"}, 404),
        ("staff", "POST", "/users/{person_B}/grants", "grant_B", 404),
        ("staff", "DELETE", "/users/{person_B}/grants/{grant_B}", None, 404),
        ("admin", "PATCH", "/users/{person_B}", {"active": False}, 404),
        ("staff", "POST", "/adjustments/{adjustment_B}/confirm", None, 404),
        ("staff", "POST", "/transfers/{earning_B}/reverse", {"reason": "审核有误"}, 404),
        ("staff", "POST", "/household-visits/{visit_B}/confirm", None, 404),
        ("staff", "POST", "/demands/{demand_B}/accept", None, 404),
        ("clerk", "POST", "/stations/{station_B}/pickups", "code_B", 404),
        ("admin", "POST", "/rule-sets/{rules_B}/publish", None, 404),
        # In scope, but not theirs to do.
        ("member", "POST", "/users/{person_A}/grants", "grant_A", 403),
        ("staff", "POST", "/users/{person_A}/grants", "staff_grant_A", 403),
        ("staff", "POST", "/rule-sets/{rules_A}/publish", None, 403),
        ("staff", "POST", "/participations/{participation_A}/reverse", {"reason": "x错"}, 409),
        ("staff", "POST", "/users/{person_A}/adjustments", "too_little", 422),
    ],
)
def test_a_refused_action_leaves_no_entry(
    app: Flask,
    client: FlaskClient,
    world: World,
    role: str,
    method: str,
    path: str,
    body: Any,
    status: int,
) -> None:
    bodies = {
        "grant_B": {"role": "volunteer", "scope_type": "org", "scope_id": world.ids["grid_B"]},
        "grant_A": {"role": "volunteer", "scope_type": "org", "scope_id": world.ids["grid_A"]},
        "staff_grant_A": {"role": "staff", "scope_type": "org", "scope_id": world.ids["grid_A"]},
        "code_B": {"pickup_code": world.codes["B"]},
        "too_little": {"kind": "award", "currency": "jifen", "amount": 0, "reason": "好"},
    }
    before = entries(app)
    response = call(
        client,
        world,
        role,
        method,
        path.format(**world.ids),
        bodies.get(body, body) if isinstance(body, str) else body,
    )
    assert response.status_code == status, response.get_json()
    assert entries(app) == before


def test_a_decision_taken_twice_is_audited_once(
    app: Flask, client: FlaskClient, world: World
) -> None:
    publish_rules(client, world)
    path = f"/participations/{world.ids['participation_A']}/approve"
    assert call(client, world, "staff", "POST", path).status_code == 200
    again = call(client, world, "admin", "POST", path)
    assert again.status_code == 409
    assert [e.action for e in entries(app)].count("participation.approve") == 1


def test_a_grant_already_held_changes_nothing_and_is_not_audited(
    app: Flask, client: FlaskClient, world: World
) -> None:
    body = {"role": "member", "scope_type": "org", "scope_id": world.ids["grid_A"]}
    granted = call(client, world, "staff", "POST", f"/users/{world.ids['person_A']}/grants", body)
    assert granted.status_code == 201
    assert entries(app) == []


def test_cli_work_is_audited_without_a_request_or_an_actor(
    app: Flask, tmp_path: Any, world: World
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("姓名,手机号,居住地,角色\n张伟,13800001111,网格A,志愿者\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(cli, ["import", "roster", str(roster)])
    assert result.exit_code == 0, result.output
    [entry] = entries(app)
    assert (entry.action, entry.actor_id, entry.request_id, entry.place_id) == (
        "grant.create",
        None,
        None,
        world.ids["grid_A"],
    )
    assert entry.after is not None
    assert entry.after["role"] == "volunteer"
    # Run again: the roster changes nothing, and the trail says nothing more.
    again = app.test_cli_runner().invoke(cli, ["import", "roster", str(roster)])
    assert again.exit_code == 0, again.output
    assert len(entries(app)) == 1


# --- reading it -------------------------------------------------------------------------


def read(client: FlaskClient, world: World, role: str, scope: str, **args: Any) -> TestResponse:
    return world.call(
        client,
        role,
        "GET",
        "/audit?" + "&".join(f"{k}={v}" for k, v in {"scope": scope, **args}.items()),
    )


def both_communities_decide(client: FlaskClient, world: World) -> None:
    for side in ("A", "B"):
        publish_rules(client, world, side)
        path = f"/participations/{world.ids[f'participation_{side}']}/reject"
        assert world.call(client, "root", "POST", path, {"reason": "不清楚"}).status_code == 200


def test_admins_read_their_places_newest_first_and_nothing_of_the_others(
    client: FlaskClient, world: World
) -> None:
    both_communities_decide(client, world)
    street = read(client, world, "root", f"org:{world.ids['street']}")
    assert street.status_code == 200, street.get_json()
    items = street.get_json()["items"]
    assert [item["action"] for item in items] == [
        "participation.reject",
        "rule_set.publish",
        "participation.reject",
        "rule_set.publish",
    ]
    assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)
    first = items[0]
    assert (first["kind"], first["org_id"], first["object_id"]) == (
        "participation",
        world.ids["community_B"],
        world.ids["participation_B"],
    )
    assert first["before"] == {"status": "submitted"}
    assert first["after"]["reason"] == "不清楚"
    assert first["actor_id"] == user_of(world, "root")

    mine = read(client, world, "admin", f"org:{world.ids['community_A']}").get_json()["items"]
    assert {item["org_id"] for item in mine} == {world.ids["community_A"]}
    assert len(mine) == 2
    assert read(client, world, "admin", f"org:{world.ids['community_B']}").status_code == 404
    assert read(client, world, "admin", f"org:{world.ids['street']}").status_code == 404


def test_kinds_and_pages(client: FlaskClient, world: World) -> None:
    both_communities_decide(client, world)
    scope = f"org:{world.ids['street']}"
    rules = read(client, world, "root", scope, kind="rule_set").get_json()["items"]
    assert [item["action"] for item in rules] == ["rule_set.publish", "rule_set.publish"]
    page = read(client, world, "root", scope, limit=3).get_json()
    assert len(page["items"]) == 3
    rest = read(client, world, "root", scope, limit=3, cursor=page["next_cursor"]).get_json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    assert rest["items"][0]["id"] < page["items"][-1]["id"]


def test_what_concerns_the_whole_organisation_is_read_at_the_root(
    client: FlaskClient, world: World
) -> None:
    body = {"role": "dept_officer", "scope_type": "department", "scope_id": world.ids["department"]}
    granted = world.call(client, "root", "POST", f"/users/{world.ids['person_A']}/grants", body)
    assert granted.status_code == 201, granted.get_json()
    [entry] = read(client, world, "root", f"org:{world.ids['street']}").get_json()["items"]
    assert (entry["action"], entry["org_id"]) == ("grant.create", None)
    assert read(client, world, "admin", f"org:{world.ids['community_A']}").get_json()["items"] == []


@pytest.mark.parametrize(
    ("role", "scope", "status", "code"),
    [
        ("staff", "org:{community_A}", 403, "forbidden"),  # in scope, not an admin
        ("member", "org:{grid_A}", 403, "forbidden"),
        ("clerk", "org:{community_A}", 404, "not_found"),
        ("admin", "org:999999", 404, "not_found"),
        ("root", "street:{street}", 422, "validation_error"),
    ],
)
def test_who_may_not_read_it(
    client: FlaskClient, world: World, role: str, scope: str, status: int, code: str
) -> None:
    response = read(client, world, role, scope.format(**world.ids))
    assert (response.status_code, response.get_json()["code"]) == (status, code)


def test_an_unknown_kind_is_refused(client: FlaskClient, world: World) -> None:
    response = read(client, world, "root", f"org:{world.ids['street']}", kind="everything")
    assert (response.status_code, response.get_json()["code"]) == (422, "validation_error")
