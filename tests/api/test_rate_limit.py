import pytest
import redis
from flask.testing import FlaskClient
from redis.backoff import NoBackoff
from redis.retry import Retry

from api.rate_limits import RateLimitExceeded, RateLimits
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


def test_the_refused_caller_is_told_when_the_window_ends(make_app: AppFactory) -> None:
    client = make_app(rate_limit="1 per minute").test_client()
    assert client.get("/api/openapi.json").status_code == 200
    refused = client.get("/api/openapi.json")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "1 per 1 minute" in refused.get_json()["message"]


def test_unknown_urls_are_not_counted(make_app: AppFactory) -> None:
    client = make_app(rate_limit="2 per minute").test_client()
    assert {client.get(f"/no/such/page/{n}").status_code for n in range(5)} == {404}
    assert [client.get("/api/openapi.json").status_code for _ in range(3)] == [200, 200, 429]


def test_instances_share_one_count(make_app: AppFactory) -> None:
    first = make_app(rate_limit="3 per minute").test_client()
    second = make_app(rate_limit="3 per minute").test_client()
    statuses = [c.get("/api/openapi.json").status_code for c in (first, second, first, second)]
    assert statuses == [200, 200, 200, 429]


def _dead_redis() -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))


def test_with_redis_down_each_process_still_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = RateLimits(_dead_redis(), "test:", general="2 per minute", sign_in="")
    tried = []
    real_hit = limits.shared.hit
    monkeypatch.setattr(limits.shared, "hit", lambda *a: tried.append(a) or real_hit(*a))
    limits.hit("tasks.Tasks", "10.0.0.1")
    assert len(tried) == 1  # Redis is tried once, then left alone for a while
    limits.hit("tasks.Tasks", "10.0.0.1")
    with pytest.raises(RateLimitExceeded) as refused:
        limits.hit("tasks.Tasks", "10.0.0.1")
    assert 1 <= int(refused.value.data["headers"]["Retry-After"]) <= 60
    limits.hit("tasks.Tasks", "10.0.0.2")  # another address has its own count
    assert len(tried) == 1


def test_sign_in_counts_against_both_limits_and_probes_against_none() -> None:
    limits = RateLimits(_dead_redis(), "test:", general="100 per minute", sign_in="3/minute")
    assert [scope for _, scope in limits.limits_for("auth.WechatSignIn")] == ["all", "sign-in"]
    assert [scope for _, scope in limits.limits_for("tasks.Tasks")] == ["all"]
    assert limits.limits_for("health.Ready") == ()
    assert limits.limits_for("health_v1.Ready") == ()
    assert limits.limits_for("metrics.scrape") == ()
