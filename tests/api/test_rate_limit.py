from flask.testing import FlaskClient

from tests.conftest import AppFactory


def test_requests_over_the_limit_get_429_with_retry_after(make_app: AppFactory) -> None:
    client: FlaskClient = make_app(rate_limit="3 per minute").test_client()
    statuses = [client.get("/api/openapi.json").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    response = client.get("/api/openapi.json")
    body = response.get_json()
    assert body["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0
    # Probes are never limited: an orchestrator must always see the truth.
    assert all(client.get("/readyz").status_code == 200 for _ in range(10))
