import pytest
import redis
from flask.testing import FlaskClient
from limits import parse
from redis.backoff import NoBackoff
from redis.retry import Retry

from api.rate_limits import RateLimitExceeded, RateLimits
from service.config import Settings
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


def _with_sign_in_defaults(make_app: AppFactory) -> FlaskClient:
    """An app with the shipped sign-in limits (the suite's own apps have none)."""
    defaults = Settings()
    return make_app(
        sign_in_rate_limit=defaults.sign_in_rate_limit,
        sign_in_identity_rate_limit=defaults.sign_in_identity_rate_limit,
    ).test_client()


def test_fifty_members_behind_one_address_all_sign_in(
    make_app: AppFactory, fresh_state: None
) -> None:
    # An event at the community centre: everyone on its Wi-Fi, one public address.
    client = _with_sign_in_defaults(make_app)
    statuses = [
        client.post("/api/v1/auth/wechat", json={"code": f"member-{n}"}).status_code
        for n in range(50)
    ]
    assert statuses == [200] * 50


def test_a_flood_from_one_address_is_still_stopped(make_app: AppFactory, fresh_state: None) -> None:
    client = _with_sign_in_defaults(make_app)
    per_address = parse(Settings().sign_in_rate_limit).amount
    statuses = [
        client.post("/api/v1/auth/wechat", json={"code": f"bot-{n}"}).status_code
        for n in range(per_address + 5)
    ]
    assert statuses == [200] * per_address + [429] * 5
    refused = client.post("/api/v1/auth/wechat", json={"code": "bot-late"})
    assert refused.get_json()["code"] == "rate_limited"
    assert "your address" in refused.get_json()["message"]
    # Another address still gets in.
    other = client.post(
        "/api/v1/auth/wechat", json={"code": "neighbour"}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other.status_code == 200


def test_one_code_or_username_hammered_is_stopped_whatever_the_address(
    make_app: AppFactory, fresh_state: None
) -> None:
    client = _with_sign_in_defaults(make_app)
    per_identity = parse(Settings().sign_in_identity_rate_limit).amount
    statuses = [
        client.post(
            "/api/v1/auth/wechat",
            json={"code": "same-code"},
            environ_base={"REMOTE_ADDR": f"10.0.{n}.1"},
        ).status_code
        for n in range(per_identity + 2)
    ]
    assert statuses == [200] * per_identity + [429] * 2
    guesses = [
        client.post(
            "/api/v1/auth/password",
            json={"username": "Zhou", "password": "wrong"},
            environ_base={"REMOTE_ADDR": f"10.1.{n}.1"},
        )
        for n in range(per_identity + 1)
    ]
    assert {g.status_code for g in guesses[:per_identity]} == {401}
    assert guesses[-1].status_code == 429
    assert "this username" in guesses[-1].get_json()["message"]
    # The same username in other letters is the same account's count.
    again = client.post("/api/v1/auth/password", json={"username": " zhou", "password": "x"})
    assert again.status_code == 429
    # A bad body is refused before anything is counted.
    assert client.post("/api/v1/auth/wechat", json={"code": ""}).status_code == 422


def test_the_public_list_has_a_limit_of_its_own(make_app: AppFactory, fresh_state: None) -> None:
    # 公示 is read without signing in: a noticeboard refreshing, not a scraper.
    client = make_app(public_rate_limit="2 per minute").test_client()
    answers = [client.get("/api/v1/public/demands?org_id=1") for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 429]  # no such place, then refused
    assert answers[2].get_json()["code"] == "rate_limited"
    # Only the public routes count against it.
    assert all(client.get("/api/openapi.json").status_code == 200 for _ in range(5))
