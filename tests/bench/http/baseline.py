"""The bare Flask app each scenario is measured against: the named SQL and nothing else.

No authentication, no ORM, no schema library: a route reads the JSON body, runs its
statements on a psycopg connection from a psycopg_pool pool (the project's driver),
commits, and answers. It runs under the same gunicorn config as the app, so the
ratio is what Lianxin's request path costs over the bare minimum of the same work.

    gunicorn --config deploy/gunicorn.conf.py 'tests.bench.http.baseline:create_app()'

Environment: BENCH_DATABASE_URL (postgresql://…), LIANXIN_REDIS_URL,
LIANXIN_REDIS_PREFIX, LIANXIN_DB_POOL_SIZE (default 5, as the app).

A new baseline is a route here plus, if it needs tables, statements in SCHEMA; each
request must leave one row keyed by its ``request_key`` (the path's last part), so
the harness can count exactly what succeeded.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from flask import Flask, Response, request
from psycopg_pool import ConnectionPool

# Accounts the approve baseline credits; requests spread over them as approvals
# spread over members, so row locks don't queue.
BASELINE_ACCOUNTS = 1000

POOL = "bench.pool"
BOARD = "bench.board"

SCHEMA = (
    """CREATE TABLE bench_checkin (
        request_key text PRIMARY KEY,
        lat double precision NOT NULL,
        lng double precision NOT NULL,
        accuracy double precision NOT NULL,
        checked_in_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE bench_account (
        id integer PRIMARY KEY,
        credits bigint NOT NULL DEFAULT 0)""",
    f"INSERT INTO bench_account (id) SELECT generate_series(0, {BASELINE_ACCOUNTS - 1})",
    """CREATE TABLE bench_transfer (
        request_key text PRIMARY KEY,
        account_id integer NOT NULL REFERENCES bench_account (id),
        amount integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())""",
)


def create_app() -> Flask:
    app = Flask("lianxin-bench-baseline")
    pool = ConnectionPool(
        os.environ["BENCH_DATABASE_URL"],
        min_size=int(os.environ.get("LIANXIN_DB_POOL_SIZE") or 5),
        open=True,
    )
    board = redis.Redis.from_url(os.environ["LIANXIN_REDIS_URL"])
    board_key = f"{os.environ.get('LIANXIN_REDIS_PREFIX', 'lx:')}bench:board"
    app.extensions[POOL] = pool
    app.extensions[BOARD] = board

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = request.headers.get("X-Request-ID", "")
        return response

    @app.get("/readyz")
    def ready() -> dict[str, Any]:
        with pool.connection() as connection:
            connection.execute("SELECT 1")
        return {"status": "ok"}

    @app.post("/baseline/checkin/<key>")
    def checkin(key: str) -> dict[str, Any]:
        """One INSERT."""
        body = request.get_json()
        with pool.connection() as connection:
            connection.execute(
                "INSERT INTO bench_checkin (request_key, lat, lng, accuracy) "
                "VALUES (%s, %s, %s, %s)",
                (key, body["lat"], body["lng"], body["accuracy"]),
            )
        return {"request_key": key, "status": "checked_in"}

    @app.post("/baseline/approve/<key>")
    def approve(key: str) -> dict[str, Any]:
        """INSERT + UPDATE in one transaction, then ZINCRBY (as a board is fed after commit)."""
        body = request.get_json()
        account, amount = int(body["account_id"]), int(body["amount"])
        with pool.connection() as connection:
            connection.execute(
                "INSERT INTO bench_transfer (request_key, account_id, amount) VALUES (%s, %s, %s)",
                (key, account, amount),
            )
            connection.execute(
                "UPDATE bench_account SET credits = credits + %s WHERE id = %s", (amount, account)
            )
        board.zincrby(board_key, amount, str(account))
        return {"request_key": key, "status": "approved"}

    return app
