from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.world import World, build_world


@pytest.fixture(autouse=True)
def _start_from_empty_tables(fresh_state: None) -> None:
    """API tests share the session's database; each starts from empty tables."""


@pytest.fixture
def world(app: Flask, fresh_state: None) -> World:
    return build_world(app)


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    """The OpenAPI document, for tests generated from it (tests/api/openapi_walk.py)."""
    document: dict[str, Any] = client.get("/api/openapi.json").get_json()
    return document
