"""`lianxin serve` as an operator runs it: gunicorn, several workers, one Redis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import Backend


def test_four_workers_share_one_redis(serve, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    limit = 10
    server = serve(
        4,
        LIANXIN_RATE_LIMIT=f"{limit} per minute",
        LIANXIN_REDIS_PREFIX=f"{backend.redis_prefix}serve:",
    )
    readiness = httpx.get(f"{server.url}/readyz").json()
    assert readiness == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}

    def call(number: int) -> int:
        # A new connection each time, so requests spread over the workers.
        response = httpx.get(
            f"{server.url}/api/openapi.json",
            headers={"X-Request-ID": f"share-{number}", "Connection": "close"},
            timeout=10,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(call, range(80)))
    logs = server.stop()

    served_by = {
        line["request_id"]: line["pid"]
        for line in logs
        if line.get("logger") == "lianxin.request" and str(line["request_id"]).startswith("share-")
    }
    assert len(served_by) == 80
    # One line a request: the app's, with its request id; gunicorn writes no second.
    assert not [line for line in logs if line.get("logger") == "gunicorn.access"]
    # The limit counter is one value in Redis: whichever worker answers, the total
    # admitted is the limit. Four private Redis servers would admit up to 4 × limit.
    assert statuses.count(200) == limit
    assert statuses.count(429) == 80 - limit
    workers = set(served_by.values())
    assert len(workers) >= 2, f"all requests went to one worker {workers}; the test proves nothing"


def test_metrics_add_up_every_worker(serve, backend: Backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_99999.db").write_bytes(b"left by an earlier server")
    server = serve(3, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    assert not (metrics_dir / "counter_99999.db").exists()

    def call(number: int) -> int:
        response = httpx.get(
            f"{server.url}/api/openapi.json",
            headers={"X-Request-ID": f"metrics-{number}", "Connection": "close"},
            timeout=10,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(call, range(30))) == {200}
    # Whichever worker answers the scrape, it reports all workers' requests.
    scrapes = [
        httpx.get(f"{server.url}/metrics", headers={"Connection": "close"}).text for _ in range(3)
    ]
    logs = server.stop()
    pids = {
        line["pid"]
        for line in logs
        if line.get("logger") == "lianxin.request"
        and str(line["request_id"]).startswith("metrics-")
    }
    assert len(pids) >= 2, f"all requests went to one worker {pids}; the test proves nothing"
    wanted = (
        'lianxin_http_request_duration_seconds_count{method="GET",'
        'route="/api/openapi.json",status="2xx"} 30.0'
    )
    for text in scrapes:
        assert wanted in text, text
