"""The API's edges stop at the API: a blueprint registered beside it (as the staff
console's pages will be) gets Flask's own error pages, no bearer token check and a
signed cookie session, while the API keeps its JSON errors, tokens and no session."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, Flask, abort, session
from flask.testing import FlaskClient

from points.errors import NotFound
from tests.conftest import AppFactory


def console_blueprint() -> Blueprint:
    """A stand-in for another entrypoint (the real console has its own error pages,
    tests/api/test_console.py): HTML pages that fail in each way a page can."""
    blp = Blueprint("beside", __name__, url_prefix="/beside")

    @blp.get("/")
    def home() -> str:
        return "<h1>社区工作台</h1>"

    @blp.get("/refused")
    def refused() -> None:
        abort(403)

    @blp.get("/gone")
    def gone() -> None:
        abort(404)

    @blp.get("/no-such-task")
    def no_such_task() -> None:
        raise NotFound("no such task")

    @blp.get("/crash")
    def crash() -> None:
        raise RuntimeError("secret internal detail")

    @blp.post("/form")
    def form() -> str:
        return "saved"

    @blp.get("/visits")
    def visits() -> str:
        session["visits"] = session.get("visits", 0) + 1
        return str(session["visits"])

    return blp


@pytest.fixture(scope="module")
def two_entrypoints(module_app_factory: AppFactory) -> Flask:
    app = module_app_factory(max_request_bytes=1024)
    app.register_blueprint(console_blueprint())
    # What production does with an unhandled error; a test app would raise it instead.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.fixture
def browser(two_entrypoints: Flask, fresh_state: None) -> FlaskClient:
    return two_entrypoints.test_client()


def test_a_page_beside_the_api_needs_no_bearer_token(browser: FlaskClient) -> None:
    response = browser.get("/beside/")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "<h1>社区工作台</h1>"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/beside/refused", {}, 403),
        ("GET", "/beside/gone", {}, 404),
        ("GET", "/beside/nowhere", {}, 404),
        ("GET", "/beside/form", {}, 405),
        ("POST", "/beside/form", {"data": b"x" * 2048}, 413),
        # A domain error the page didn't handle is a crash like any other.
        ("GET", "/beside/no-such-task", {}, 500),
        ("GET", "/beside/crash", {}, 500),
    ],
)
def test_a_page_beside_the_api_gets_flasks_own_error_pages(
    browser: FlaskClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = browser.open(path, method=method, **kwargs)
    assert response.status_code == status
    assert response.content_type.startswith("text/html")
    assert response.get_json(silent=True) is None
    assert "secret internal detail" not in response.get_data(as_text=True)


def test_a_page_beside_the_api_has_a_signed_cookie_session(browser: FlaskClient) -> None:
    first = browser.get("/beside/visits")
    assert "session=" in first.headers["Set-Cookie"]
    assert "HttpOnly" in first.headers["Set-Cookie"]
    assert browser.get("/beside/visits").get_data(as_text=True) == "2"


def test_the_api_beside_a_console_still_keeps_no_cookie_session(two_entrypoints: Flask) -> None:
    with two_entrypoints.test_request_context("/api/v1/me", headers={"Cookie": "session=x"}):
        assert not session
        with pytest.raises(RuntimeError):
            session["user_id"] = 1


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/api/v1/me", {}, 401, "unauthenticated"),
        ("GET", "/api/v1/nothing-here", {}, 404, "not_found"),
        ("GET", "/api/v1/console", {}, 404, "not_found"),
        ("GET", "/consoles", {}, 404, "not_found"),
        ("GET", "/api/v1/auth/wechat", {}, 405, "method_not_allowed"),
        ("DELETE", "/metrics", {}, 405, "method_not_allowed"),
        ("POST", "/api/v1/auth/wechat", {"data": b"x" * 2048}, 413, "payload_too_large"),
        (
            "POST",
            "/api/v1/auth/wechat",
            {"data": b"{not json", "content_type": "application/json"},
            400,
            "invalid_json",
        ),
        ("POST", "/api/v1/auth/wechat", {"json": {}}, 422, "validation_error"),
    ],
)
def test_the_api_beside_a_console_still_answers_errors_in_json(
    browser: FlaskClient, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = browser.open(path, method=method, **kwargs)
    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "Set-Cookie" not in response.headers


def test_the_api_beside_a_console_still_answers_a_crash_in_json(
    two_entrypoints: Flask, browser: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash() -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setitem(two_entrypoints.view_functions, "health.Liveness", crash)
    response = browser.get("/healthz")
    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"
    assert "secret internal detail" not in response.get_data(as_text=True)
