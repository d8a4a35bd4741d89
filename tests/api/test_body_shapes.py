"""Bodies the API must refuse whole, generated from the OpenAPI document so that a new
operation or field can't be forgotten: a whole number that isn't one (2.9, "2", true)
is 422 naming the field and is never rounded; JSON nested too deep is 400
``invalid_json``, never a crash; and nothing is stored either way."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.openapi_walk import operations, resolved, rows_everywhere, send
from tests.api.world import World

NOT_WHOLE = (2.9, "2", True)


def whole_number_fields(spec: dict[str, Any], schema: dict[str, Any]) -> Iterator[tuple[str, bool]]:
    """(property, is a list of them) for each writable whole-number property."""
    for name, prop in resolved(spec, schema).get("properties", {}).items():
        prop = resolved(spec, prop)
        if prop.get("readOnly"):
            continue
        if prop.get("type") == "integer":
            yield name, False
        elif (
            prop.get("type") == "array"
            and resolved(spec, prop.get("items", {})).get("type") == "integer"
        ):
            yield name, True


def test_a_whole_number_that_is_not_one_is_refused_in_every_body(
    app: Flask, client: FlaskClient, world: World, spec: dict[str, Any], caplog: Any
) -> None:
    before = rows_everywhere(app)
    checked, wrong = 0, []
    for method, path, schema in operations(spec):
        for name, is_list in whole_number_fields(spec, schema):
            for value in NOT_WHOLE:
                response = send(
                    client, world, method, path, json={name: [value] if is_list else value}
                )
                body = response.get_json(silent=True)
                errors = body.get("errors", {}) if isinstance(body, dict) else {}
                if response.status_code != 422 or name not in errors:
                    wrong.append((method, path, name, value, response.status_code, body))
                checked += 1
    assert not wrong, wrong[:5]
    # Amounts, capacities, ids, units and households among them: the walk reached them.
    assert checked >= 3 * 20
    assert rows_everywhere(app) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_whole_number_is_still_taken_where_one_is_sent(client: FlaskClient, world: World) -> None:
    body = {"kind": "award", "currency": "jifen", "amount": 3, "reason": "扶老人过马路"}
    member = int(jwt.decode(world.tokens["member"], options={"verify_signature": False})["sub"])
    response = send(client, world, "POST", f"/api/v1/users/{member}/adjustments", json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["amount"] == 3


def test_the_digits_of_a_query_string_are_still_whole_numbers(
    client: FlaskClient, world: World
) -> None:
    assert send(client, world, "GET", "/api/v1/tasks?limit=2").status_code == 200
    refused = send(client, world, "GET", "/api/v1/tasks?limit=2.5")
    assert refused.status_code == 422
    assert "limit" in refused.get_json()["errors"]


@pytest.mark.parametrize("depth", [33, 10_000])
def test_json_nested_too_deep_is_400_invalid_json_on_every_operation(
    app: Flask, client: FlaskClient, world: World, spec: dict[str, Any], caplog: Any, depth: int
) -> None:
    before = rows_everywhere(app)
    deep = b'{"code": ' + b"[" * depth + b"]" * depth + b"}"
    answers = {}
    for method, path, _ in operations(spec):
        response = send(client, world, method, path, data=deep, content_type="application/json")
        body = response.get_json(silent=True)
        answers[(method, path)] = (
            response.status_code,
            isinstance(body, dict) and body.get("code"),
        )
    assert len(answers) >= 40  # every write operation that takes a JSON body
    assert set(answers.values()) == {(400, "invalid_json")}, answers
    assert rows_everywhere(app) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_json_nested_within_the_limit_is_parsed_and_judged_by_its_fields(
    client: FlaskClient, world: World
) -> None:
    nested = b'{"code": ' + b"[" * 30 + b"]" * 30 + b"}"
    response = send(
        client, world, "POST", "/api/v1/auth/wechat", data=nested, content_type="application/json"
    )
    assert response.status_code == 422
    assert "code" in response.get_json()["errors"]
    # Brackets inside a string are text, not nesting.
    text = b'{"code": "' + b"[" * 100 + b'"}'
    response = send(
        client, world, "POST", "/api/v1/auth/wechat", data=text, content_type="application/json"
    )
    assert response.get_json()["code"] != "invalid_json"
