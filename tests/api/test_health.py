import pytest
from flask.testing import FlaskClient

from tests.conftest import AppFactory


@pytest.mark.parametrize("prefix", ["", "/api/v1"])
def test_liveness(client: FlaskClient, prefix: str) -> None:
    response = client.get(f"{prefix}/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize("prefix", ["", "/api/v1"])
def test_ready_when_database_and_redis_answer(client: FlaskClient, prefix: str) -> None:
    response = client.get(f"{prefix}/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_not_ready_names_redis_when_it_is_down(make_app: AppFactory) -> None:
    app = make_app(redis_url="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "not_ready"
    assert body["errors"] == {"database": "ok", "redis": "down"}
    assert "redis" in body["message"]


def test_not_ready_names_the_database_when_it_is_down(make_app: AppFactory) -> None:
    app = make_app(database_url="postgresql://lianxin@127.0.0.1:1/lianxin")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["errors"] == {"database": "down", "redis": "ok"}
    # The process itself is alive: liveness does not depend on the database.
    assert app.test_client().get("/healthz").status_code == 200
