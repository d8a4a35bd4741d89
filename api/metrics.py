"""Prometheus metrics at ``GET /metrics``.

Under gunicorn every worker is its own process. With ``PROMETHEUS_MULTIPROC_DIR``
set (``lianxin serve`` sets it; gunicorn's ``child_exit`` hook in
deploy/gunicorn.conf.py marks dead workers) prometheus_client keeps each value in
a file there and a scrape adds up all workers' files, so any worker answers for
the whole server. Without it (tests, the flask dev server) one process counts.

The metric objects live at module level because prometheus_client registers each
name once per process; building them per app would fail on the second app.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from flask import Blueprint, Flask, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy.exc import SQLAlchemyError

from api import boundary, extensions
from service import telemetry
from service.db import utcnow
from service.leaderboards.sweeper import outbox_lag

# In multiprocess mode every metric writes to a file in this folder from its first
# value on, some at import: a missing folder would stop any `lianxin` command.
_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _MULTIPROC_DIR:
    Path(_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

SCRAPE_ENDPOINT = "metrics.scrape"
# Methods a client can invent are folded into one label value so they can't
# multiply the time series.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_DURATION = Histogram(
    "lianxin_http_request_duration_seconds",
    "Time from the request's arrival in the app to its response, by route template.",
    ["route", "method", "status"],
    # The mini-program waits at most 60 s (wx.request); the interesting range is far below.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
TRANSFERS_POSTED = Counter(
    "lianxin_transfers_posted",
    "Ledger transfers written (replays of an idempotency key are not counted).",
    ["kind", "currency"],
)
REDIS_FALLBACKS = Counter(
    "lianxin_redis_fallbacks",
    "Times Redis did not answer and the database served instead.",
    ["where"],
)
OUTBOX_LAG = Gauge(
    "lianxin_outbox_lag_seconds",
    "Age of the oldest outbox row not yet applied to Redis, as last measured.",
    multiprocess_mode="mostrecent",
)


class PrometheusObserver:
    """Turns the service layer's telemetry events into Prometheus samples."""

    def transfer_posted(self, kind: str, currency: str) -> None:
        TRANSFERS_POSTED.labels(kind=kind, currency=currency).inc()

    def redis_fallback(self, where: str) -> None:
        REDIS_FALLBACKS.labels(where=where).inc()

    def outbox_lag(self, seconds: float) -> None:
        OUTBOX_LAG.set(seconds)


OBSERVER = PrometheusObserver()

blp = Blueprint("metrics", __name__)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


@blp.get("/metrics")
def scrape() -> Response:
    # Any instance reports the outbox lag, so it shows even where no worker runs.
    # The database being down is /readyz's news; the other metrics still serve.
    with suppress(SQLAlchemyError):
        telemetry.outbox_lag(outbox_lag(extensions.session(), utcnow()))
    return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def observe_request(route: str | None, method: str, status: int, seconds: float) -> None:
    REQUEST_DURATION.labels(
        route=route or "unmatched",
        method=method if method in _KNOWN_METHODS else "other",
        status=f"{status // 100}xx",
    ).observe(seconds)


def init_app(app: Flask) -> None:
    telemetry.register(OBSERVER)
    app.register_blueprint(blp)
    # Public (api/authentication.py), but its errors are in the API's format.
    boundary.include(app, blp.name)
