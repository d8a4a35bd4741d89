"""Operations that take no body (logout, publish, approve, accept, confirm, cancel …)
refuse one instead of ignoring it, generated over every such operation of the OpenAPI
document: a body that isn't JSON is 400 ``invalid_json``, JSON that says anything is
422 ``unexpected_body``, and nothing is done; no body, or ``{}``, is what they take."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.openapi_walk import WRITES, all_operations, rows_everywhere, send
from tests.api.world import World


def bodyless(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for method, path, operation in all_operations(spec):
        if method in WRITES and "requestBody" not in operation:
            yield method.upper(), path


REFUSED = [
    pytest.param(b"approve me", "application/json", 400, "invalid_json", id="not-json"),
    pytest.param(b'{"note": ', "application/json", 400, "invalid_json", id="cut-short"),
    pytest.param(b"\xff\xfe{}", "application/json", 400, "invalid_json", id="not-utf8"),
    pytest.param(b"[" * 40 + b"]" * 40, "application/json", 400, "invalid_json", id="deep"),
    pytest.param(b"note=ok", "application/x-www-form-urlencoded", 400, "invalid_json", id="form"),
    pytest.param(b'{"note": "ok"}', "application/json", 422, "unexpected_body", id="field"),
    pytest.param(b'{"note": "ok"}', "text/plain", 422, "unexpected_body", id="untyped"),
    pytest.param(b"[]", "application/json", 422, "unexpected_body", id="list"),
    pytest.param(b"null", "application/json", 422, "unexpected_body", id="null"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "code"), REFUSED)
def test_a_body_where_none_is_taken_is_refused_and_nothing_is_done(
    app: Flask,
    client: FlaskClient,
    world: World,
    spec: dict[str, Any],
    caplog: Any,
    body: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    before = rows_everywhere(app)
    operations = list(bodyless(spec))
    answers = {}
    for method, path in operations:
        # Real ids, so that without the body each would be carried out.
        filled = path.format(**ids(world))
        response = send(client, world, method, filled, data=body, content_type=content_type)
        answers[(method, path)] = (response.status_code, response.get_json()["code"])
    assert set(answers.values()) == {(status, code)}, answers
    # logout, publish ×2, close, sign-up, cancel ×2, approve, confirm ×2, revoke a grant,
    # forget a demand deadline
    assert len(operations) >= 12
    assert rows_everywhere(app) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def ids(world: World) -> dict[str, int]:
    """A real object for each path parameter of the body-less operations."""
    return {
        "task_id": world.ids["published_task_A"],
        "participation_id": world.ids["participation_A"],
        "visit_id": world.ids["visit_A"],
        "demand_id": world.ids["demand_A"],
        "rule_set_id": world.ids["rules_A"],
        "adjustment_id": world.ids["adjustment_A"],
        "redemption_id": world.ids["redemption_A"],
        "user_id": world.ids["person_A"],
        "grant_id": world.ids["grant_A"],
        "household_id": world.ids["household_A"],
        "review_id": world.ids["review_A"],
        "limit_id": 1,  # none is kept: past the body check, 404
        "policy_id": 1,  # none is kept either
        "series_id": 1,  # likewise
    }


def test_unknown_fields_are_named(client: FlaskClient, world: World) -> None:
    path = f"/api/v1/participations/{world.ids['participation_A']}/approve"
    response = send(client, world, "POST", path, json={"note": "好", "units": 3})
    body = response.get_json()
    assert (response.status_code, body["code"]) == (422, "unexpected_body")
    assert body["errors"] == {"note": ["Unknown field."], "units": ["Unknown field."]}


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param({}, id="none"),
        pytest.param({"data": b"{}", "content_type": "application/json"}, id="{}"),
        pytest.param({"data": b"{}"}, id="{} untyped"),
        pytest.param({"data": b" \n", "content_type": "application/json"}, id="blank"),
    ],
)
def test_no_body_or_an_empty_object_is_what_they_take(
    client: FlaskClient, world: World, spec: dict[str, Any], sent: dict[str, Any]
) -> None:
    answers = {}
    # Signing out last: it ends the token the others are sent with.
    for method, path in sorted(bodyless(spec), key=lambda op: op[1] == "/api/v1/auth/logout"):
        response = send(client, world, method, path.format(**ids(world)), **sent)
        body = response.get_json(silent=True) or {}
        answers[(method, path)] = (response.status_code, body.get("code"))
    refused = {k: a for k, a in answers.items() if a[0] in (400, 422) or a[0] >= 500}
    assert not refused, refused
    assert answers[("POST", "/api/v1/rule-sets/{rule_set_id}/publish")][0] == 200
    assert answers[("POST", "/api/v1/adjustments/{adjustment_id}/confirm")][0] == 200
    assert answers[("POST", "/api/v1/auth/logout")][0] == 204


def test_who_is_signed_out_hears_that_first(client: FlaskClient, world: World) -> None:
    path = f"/api/v1/tasks/{world.ids['draft_task_A']}/publish"
    response = client.post(path, data=b"not json", content_type="application/json")
    assert response.status_code == 401
