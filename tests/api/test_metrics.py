"""GET /metrics: Prometheus text with request latency by route and ledger counters."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from api import extensions
from api.authentication import is_public
from api.observability import json_handler
from service import telemetry
from service.db import utcnow
from service.leaderboards.moves import MemberMoved
from service.ledger.models import EarningEvent
from service.outbox.models import OutboxMessage
from service.people.models import User
from service.unit_of_work import UnitOfWork
from tests.conftest import AppFactory, signed_in_headers
from tests.ledger_helpers import credit


@pytest.fixture
def caplog_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = json_handler()
    handler.setStream(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def sample(client: FlaskClient, name: str, **labels: str) -> float:
    """The value of one sample in a fresh scrape (0 if it isn't there yet)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return found.value
    return 0.0


def test_metrics_needs_no_token_and_is_not_in_the_api_document(client: FlaskClient) -> None:
    assert is_public("metrics.scrape")
    assert client.get("/metrics").status_code == 200
    assert "/metrics" not in client.get("/api/openapi.json").get_json()["paths"]


def test_a_request_is_timed_under_its_route_template_not_its_path(client: FlaskClient) -> None:
    route = {"route": "/healthz", "method": "GET", "status": "2xx"}
    before = sample(client, "lianxin_http_request_duration_seconds_count", **route)
    client.get("/healthz")
    client.get("/healthz")
    after = sample(client, "lianxin_http_request_duration_seconds_count", **route)
    assert after == before + 2
    assert sample(client, "lianxin_http_request_duration_seconds_bucket", le="+Inf", **route) > 0


def test_ids_in_the_path_do_not_become_labels(client: FlaskClient) -> None:
    client.get("/api/v1/tasks/987654321")
    client.get("/api/v1/no-such-thing/42")
    text = client.get("/metrics").get_data(as_text=True)
    assert "987654321" not in text
    assert "/api/v1/tasks/<int:task_id>" in text
    assert 'route="unmatched"' in text
    assert "/no-such-thing" not in text


def test_invented_methods_are_folded_into_one_label(client: FlaskClient) -> None:
    client.open("/healthz", method="BREW")
    text = client.get("/metrics").get_data(as_text=True)
    assert "BREW" not in text
    assert 'method="other"' in text


def test_a_ledger_post_counts_once_and_a_replay_does_not(app: Flask, client: FlaskClient) -> None:
    signed_in_headers(client, "o-metrics")
    with app.app_context():
        session = extensions.session()
        user_id = session.scalars(select(User.id).where(User.openid == "o-metrics")).one()
        labels = {"kind": "earn", "currency": "jifen"}
        before = sample(client, "lianxin_transfers_posted_total", **labels)
        credit(session, user_id, "jifen", 5, key="metrics:once")
        credit(session, user_id, "jifen", 5, key="metrics:once")
    assert sample(client, "lianxin_transfers_posted_total", **labels) == before + 1


def test_redis_fallbacks_reach_the_scrape(client: FlaskClient) -> None:
    before = sample(client, "lianxin_redis_fallbacks_total", where="test-board")
    telemetry.redis_fallback("test-board")
    assert sample(client, "lianxin_redis_fallbacks_total", where="test-board") == before + 1


def test_the_scrape_measures_how_long_the_oldest_outbox_row_has_waited(
    app: Flask, client: FlaskClient
) -> None:
    assert sample(client, "lianxin_outbox_lag_seconds") == 0  # nothing waits
    signed_in_headers(client, "o-lag")
    with app.app_context():
        session = extensions.session()
        user_id = session.scalars(select(User.id).where(User.openid == "o-lag")).one()
        credit(session, user_id, "jifen", 5, key="metrics:lag")  # no after-commit feed here
        session.execute(update(EarningEvent).values(created_at=utcnow() - timedelta(seconds=90)))
        session.commit()
    assert 90 <= sample(client, "lianxin_outbox_lag_seconds") < 120


def test_a_failing_observer_never_breaks_the_caller(caplog_lines: io.StringIO) -> None:
    class Broken:
        def transfer_posted(self, kind: str, currency: str) -> None:
            raise RuntimeError("observer down")

        def redis_fallback(self, where: str) -> None:
            raise RuntimeError("observer down")

        def outbox_lag(self, seconds: float) -> None:
            raise RuntimeError("observer down")

    broken = Broken()
    telemetry.register(broken)
    try:
        telemetry.transfer_posted("earn", "jifen")
        telemetry.redis_fallback("x")
        telemetry.outbox_lag(1.0)
    finally:
        telemetry.unregister(broken)
    logged = [json.loads(line) for line in caplog_lines.getvalue().splitlines()]
    assert [entry["message"] for entry in logged if entry["logger"] == "service.telemetry"] == [
        "telemetry observer failed on transfer_posted",
        "telemetry observer failed on redis_fallback",
        "telemetry observer failed on outbox_lag",
    ]


def test_scrapes_are_not_written_to_the_request_log(
    client: FlaskClient, caplog_lines: io.StringIO
) -> None:
    client.get("/metrics")
    client.get("/healthz")
    paths = [
        json.loads(line)["path"]
        for line in caplog_lines.getvalue().splitlines()
        if json.loads(line)["logger"] == "lianxin.request"
    ]
    assert paths == ["/healthz"]


def test_scrapes_are_not_rate_limited(make_app: AppFactory) -> None:
    client = make_app(rate_limit="2 per minute").test_client()
    assert [client.get("/metrics").status_code for _ in range(5)] == [200] * 5
    statuses = [client.get("/api/openapi.json").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_any_lianxin_command_starts_with_a_metrics_folder_not_yet_made(tmp_path: Path) -> None:
    # The scheduled jobs and migrations share the API's environment; in multiprocess
    # mode prometheus_client writes a file at import, so the folder must not need to exist.
    folder = tmp_path / "not-yet" / "prometheus"
    result = subprocess.run(
        [sys.executable, "-c", "import api.metrics"],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert folder.is_dir()


def test_an_outbox_message_not_handled_counts_in_the_lag(app: Flask, client: FlaskClient) -> None:
    assert sample(client, "lianxin_outbox_lag_seconds") == 0
    with app.app_context():
        session = extensions.session()
        user = User(name="搬家的人")
        session.add(user)
        session.commit()
        uow = UnitOfWork(session)  # no one hands the message out: it waits
        with uow:
            uow.record(MemberMoved(user.id, ()))
            uow.commit()
        session.execute(update(OutboxMessage).values(created_at=utcnow() - timedelta(seconds=200)))
        session.commit()
    assert 200 <= sample(client, "lianxin_outbox_lag_seconds") < 230
