"""Every error, whoever raises it, has one shape: code, message, errors, request_id."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api.openapi import Blueprint  # the API's own, as every API blueprint is
from points.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.db import utcnow
from tests.conftest import AppFactory, signed_in_headers


class ProbeSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=20))
    capacity = fields.Integer(required=True, validate=validate.Range(min=1))


def probe_blueprint() -> Blueprint:
    """Routes that exist only to raise each kind of error through the real handlers."""
    blp = Blueprint("probe", __name__, url_prefix="/api/v1/probe")
    raises = {
        "not-found": NotFound,
        "conflict": Conflict,
        "forbidden": Forbidden,
        "invalid": InvalidInput,
    }

    @blp.route("/echo")
    class Echo(MethodView):
        @blp.arguments(ProbeSchema)
        @blp.response(201, ProbeSchema)
        def post(self, body: dict[str, Any]) -> dict[str, Any]:
            return body

    @blp.get("/raise/<kind>")
    def raise_domain(kind: str) -> None:
        raise raises[kind](f"{kind} happened", errors={"field": ["why"]})

    @blp.get("/crash")
    def crash() -> None:
        raise RuntimeError("secret internal detail")

    return blp


@pytest.fixture(scope="module")
def probe_app(module_app_factory: AppFactory) -> Flask:
    app = module_app_factory(max_request_bytes=1024)
    app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(probe_blueprint())
    return app


@pytest.fixture
def probe(probe_app: Flask, fresh_state: None) -> FlaskClient:
    """A client signed in as someone: the probe routes, like all routes, need a token."""
    client = probe_app.test_client()
    headers = signed_in_headers(client, "probe-user")
    client.environ_base["HTTP_AUTHORIZATION"] = headers["Authorization"]
    return client


def assert_error_shape(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"code", "message", "errors", "request_id"}
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["errors"], dict)
    assert body["request_id"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/no/such/page", 404, "not_found"),
        ("GET", "/api/v1/nothing-here", 404, "not_found"),
        ("DELETE", "/healthz", 405, "method_not_allowed"),
        ("GET", "/api/v1/probe/echo", 405, "method_not_allowed"),
    ],
)
def test_flask_routing_errors(
    probe: FlaskClient, method: str, path: str, status: int, code: str
) -> None:
    response = probe.open(path, method=method)
    assert response.status_code == status
    assert_error_shape(response.get_json(), code)


def test_a_body_over_the_limit_is_413_without_being_read(probe: FlaskClient) -> None:
    response = probe.post("/api/v1/probe/echo", data=b"x" * 2048, content_type="application/json")
    assert response.status_code == 413
    assert_error_shape(response.get_json(), "payload_too_large")


def test_validation_errors_are_per_field(probe: FlaskClient) -> None:
    response = probe.post("/api/v1/probe/echo", json={"title": "", "capacity": 0, "extra": 1})
    assert response.status_code == 422
    body = response.get_json()
    assert_error_shape(body, "validation_error")
    assert set(body["errors"]) == {"title", "capacity", "extra"}


def test_a_body_that_is_not_json_is_a_4xx(probe: FlaskClient) -> None:
    response = probe.post("/api/v1/probe/echo", data=b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert_error_shape(response.get_json(), "invalid_json")


def test_valid_input_passes_through(probe: FlaskClient) -> None:
    response = probe.post("/api/v1/probe/echo", json={"title": "敲门行动", "capacity": 10})
    assert response.status_code == 201
    assert response.get_json() == {"title": "敲门行动", "capacity": 10}


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("not-found", 404, "not_found"),
        ("conflict", 409, "conflict"),
        ("forbidden", 403, "forbidden"),
        ("invalid", 422, "invalid_input"),
    ],
)
def test_domain_errors_map_to_status_and_code(
    probe: FlaskClient, kind: str, status: int, code: str
) -> None:
    response = probe.get(f"/api/v1/probe/raise/{kind}")
    assert response.status_code == status
    body = response.get_json()
    assert_error_shape(body, code)
    assert body["message"] == f"{kind} happened"
    assert body["errors"] == {"field": ["why"]}


def test_a_crash_is_500_in_the_same_shape_and_logged_with_the_request_id(
    probe: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="lianxin.errors"):
        response = probe.get("/api/v1/probe/crash", headers={"X-Request-ID": "crash-1"})
    assert response.status_code == 500
    body = response.get_json()
    assert_error_shape(body, "internal_error")
    assert body["request_id"] == "crash-1"
    assert "secret internal detail" not in response.get_data(as_text=True)
    [record] = [r for r in caplog.records if r.name == "lianxin.errors"]
    assert record.exc_info is not None
    assert "secret internal detail" in str(record.exc_info[1])


HUGE = 2**70  # more than any id column, or SQLite, can hold


@pytest.mark.parametrize(
    "path", [f"/api/v1/tasks/{HUGE}", f"/api/v1/stations/{HUGE}", f"/api/v1/places/{HUGE}"]
)
def test_an_id_too_large_for_any_table_is_a_plain_404(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers=signed_in_headers(client, "o-huge-path"))
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/redemptions", lambda: {"item_id": HUGE, "quantity": 1}),
        (
            "/api/v1/demands",
            lambda: {"category": "safety", "description": "路灯坏了", "org_id": HUGE},
        ),
        (
            "/api/v1/household-visits",
            # Relative to the clock: a fixed day soon falls outside the week a visit may
            # be logged in, and is refused before the id is looked at.
            lambda: {
                "household_id": HUGE,
                "visited_at": (utcnow() - timedelta(hours=1)).isoformat(),
            },
        ),
    ],
)
def test_an_id_too_large_in_a_body_is_422_not_500(
    client: FlaskClient, path: str, body: Callable[[], dict[str, Any]]
) -> None:
    response = client.post(path, json=body(), headers=signed_in_headers(client, "o-huge-body"))
    assert response.status_code in (404, 422), response.get_json()
    assert response.get_json()["code"] in ("not_found", "out_of_range", "validation_error")
