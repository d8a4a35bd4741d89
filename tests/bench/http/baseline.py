"""The minimal Flask apps each scenario is measured against: the named work and nothing else.

No authentication, no ORM models, no schema library: a route reads its input, runs
the named statements, commits, and answers. Two of them, under the same gunicorn
config as the app:

- ``create_stack_app`` — the target's denominator: the project's own stack, Flask +
  Flask-SQLAlchemy's session (engine options from service/db.py ``engine_options``:
  pool size, pre-ping, recycle, timeouts) running ``text()`` statements, and
  redis-py connected as the app connects. The ratio to it is what Lianxin's request
  path (auth, marshmallow, ORM, access checks, ledger) costs over the same work on
  the same libraries.
- ``create_app`` — bare psycopg: the same statements on a psycopg_pool pool with no
  SQLAlchemy at all; shown beside it so a reader sees what the stack itself costs.

    gunicorn --config deploy/gunicorn.conf.py 'tests.bench.http.baseline:create_stack_app()'
    gunicorn --config deploy/gunicorn.conf.py 'tests.bench.http.baseline:create_app()'

Environment: the app's (LIANXIN_DATABASE_URL, LIANXIN_REDIS_URL, LIANXIN_REDIS_PREFIX,
LIANXIN_DB_POOL_SIZE …); the bare app reads BENCH_DATABASE_URL (postgresql://…).

The stack app also serves a floor for check-in, at the app's own path: the use case's
two statements (``read_for_checkin`` and the conditional UPDATE, each committing alone
as the app's do) after verifying the bearer token, and nothing else: no rate limit,
request log, input schema, access or domain check, error handling. No implementation
of check-in on this stack can do less, so its ratio to the stack baseline is the most
any can reach.

A new baseline is a route in both apps plus, if it needs tables, statements in
SCHEMA; each writing request leaves one row keyed by its ``request_key`` (the path's
last part), so the harness can count exactly what succeeded.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import redis
from flask import Flask, Response, abort, request
from flask_sqlalchemy import SQLAlchemy
from psycopg_pool import ConnectionPool
from sqlalchemy import text

from points.tasks import ParticipationStatus
from service.auth.tokens import read_access_token
from service.config import Settings
from service.db import commit_each_statement, engine_options, rows_changed, utcnow
from service.redis_connection import connect_redis
from service.tasks.attendance import participation_of, read_for_checkin
from service.tasks.signups import move_participation_by_id

# Accounts the approve and refresh baselines write to; requests spread over them as
# approvals spread over members, so row locks don't queue.
BASELINE_ACCOUNTS = 1000
# The one item every redemption takes from, as every app request takes from one item.
ITEM_ID = 1
ITEM_STOCK = 10_000_000
# Members on the leaderboard baseline's board (and on the app's board it mirrors).
BOARD_MEMBERS = 10_000
BOARD_LIMIT = 50
BOARD_AROUND = 5

POOL = "bench.pool"
BOARD = "bench.board"
DB = "bench.db"

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
    """CREATE TABLE bench_item (
        id integer PRIMARY KEY,
        stock integer NOT NULL CHECK (stock >= 0))""",
    f"INSERT INTO bench_item (id, stock) VALUES ({ITEM_ID}, {ITEM_STOCK})",  # noqa: S608
    """CREATE TABLE bench_hold (
        request_key text PRIMARY KEY,
        item_id integer NOT NULL REFERENCES bench_item (id),
        quantity integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE bench_refresh (
        request_key text PRIMARY KEY,
        account_id integer NOT NULL REFERENCES bench_account (id),
        token_hash text NOT NULL,
        issued_at timestamptz NOT NULL DEFAULT now())""",
)


def credits_key(prefix: str) -> str:
    """The sorted set the approve baseline feeds, as approvals feed a board."""
    return f"{prefix}bench:board"


def board_key(prefix: str) -> str:
    """The board the leaderboard baseline reads."""
    return f"{prefix}bench:leaderboard"


def unread_key(prefix: str) -> str:
    """The hash the unread baseline reads a member's count from."""
    return f"{prefix}bench:unread"


def board_score(n: int) -> int:
    """The n-th member's score, on both boards: spread over 1–5,000 with ties."""
    return 1 + (n * 7919) % 5000


def seed_board(client: redis.Redis, prefix: str) -> None:
    """The baseline's board: as many members, with the same scores, as the app's."""
    key = board_key(prefix)
    client.delete(key)
    members = {f"m{n}": board_score(n) for n in range(BOARD_MEMBERS)}
    for start in range(0, BOARD_MEMBERS, 5_000):
        client.zadd(key, dict(list(members.items())[start : start + 5_000]))
    client.delete(unread_key(prefix))
    client.hset(unread_key(prefix), mapping={f"m{n}": n % 7 for n in range(BOARD_MEMBERS)})


def _unread_read(client: redis.Redis, key: str, member: str) -> dict[str, Any]:
    """One HGET: what the app's unread count does once Redis holds it."""
    count = client.hget(key, member)
    return {"unread": int(count or 0)}


def _new_token_hash(key: str) -> str:
    # As sign-in stores a refresh token: a SHA-256 of 32 random bytes.
    return hashlib.sha256(os.urandom(32) + key.encode()).hexdigest()


def _board_reads(client: redis.Redis, key: str, member: str) -> dict[str, Any]:
    """ZREVRANGE top + ZREVRANK + ZSCORE in one pipeline, then ZREVRANGE around the
    rank: the reads the app's one Lua call makes, as plainly as redis-py allows."""
    pipe = client.pipeline(transaction=False)
    pipe.zrevrange(key, 0, BOARD_LIMIT - 1, withscores=True)
    pipe.zrevrank(key, member)
    pipe.zscore(key, member)
    top, rank, score = pipe.execute()
    around: list[Any] = []
    if rank is not None:
        around = client.zrevrange(
            key, max(rank - BOARD_AROUND, 0), rank + BOARD_AROUND, withscores=True
        )
    return {
        "items": [[_text(m), s] for m, s in top],
        "me": None if rank is None else {"rank": rank + 1, "score": score},
        "around": [[_text(m), s] for m, s in around],
        "stale": False,
    }


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _echo_request_id(app: Flask) -> None:
    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = request.headers.get("X-Request-ID", "")
        return response


def create_stack_app(settings: Settings | None = None) -> Flask:
    """Flask + Flask-SQLAlchemy + psycopg 3 + redis-py, configured as the app is."""
    settings = settings or Settings.from_env()
    app = Flask("lianxin-bench-stack")
    app.config["SQLALCHEMY_DATABASE_URI"] = settings.sqlalchemy_url.render_as_string(
        hide_password=False
    )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(settings)
    db = SQLAlchemy(session_options={"expire_on_commit": False})
    db.init_app(app)
    board = connect_redis(settings)
    key_of_credits = credits_key(settings.redis_prefix)
    key_of_board = board_key(settings.redis_prefix)
    key_of_unread = unread_key(settings.redis_prefix)
    app.extensions[DB] = db
    app.extensions[BOARD] = board
    _echo_request_id(app)

    @app.get("/readyz")
    def ready() -> dict[str, Any]:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return {"status": "ok"}

    @app.post("/baseline/checkin/<key>")
    def checkin(key: str) -> dict[str, Any]:
        """One INSERT."""
        body = request.get_json()
        db.session.execute(
            text(
                "INSERT INTO bench_checkin (request_key, lat, lng, accuracy) "
                "VALUES (:key, :lat, :lng, :accuracy)"
            ),
            {"key": key, "lat": body["lat"], "lng": body["lng"], "accuracy": body["accuracy"]},
        )
        db.session.commit()
        return {"request_key": key, "status": "checked_in"}

    @app.post("/api/v1/participations/<int:participation_id>/checkin")
    def checkin_floor(participation_id: int) -> dict[str, Any]:
        """Check-in's own statements and token check, nothing else."""
        body = request.get_json()
        token = request.headers["Authorization"].partition(" ")[2]
        claims = read_access_token(settings.secret_key, token)
        session = db.session()
        commit_each_statement(session)
        found = read_for_checkin(session, participation_id, claims.user_id)
        if found is None:
            abort(404)
        participation = participation_of(found)
        participation |= move_participation_by_id(
            session,
            participation_id,
            ParticipationStatus(found.status),
            ParticipationStatus.CHECKED_IN,
            checked_in_at=utcnow(),
            checkin_distance_m=None,
            checkin_accuracy_m=body["accuracy"],
            code_step=None,
            flags=[],
        )
        session.commit()
        return participation

    @app.post("/baseline/approve/<key>")
    def approve(key: str) -> dict[str, Any]:
        """INSERT + UPDATE in one transaction, then ZINCRBY (as a board is fed after commit)."""
        body = request.get_json()
        values = {"key": key, "account": int(body["account_id"]), "amount": int(body["amount"])}
        db.session.execute(
            text(
                "INSERT INTO bench_transfer (request_key, account_id, amount) "
                "VALUES (:key, :account, :amount)"
            ),
            values,
        )
        db.session.execute(
            text("UPDATE bench_account SET credits = credits + :amount WHERE id = :account"),
            values,
        )
        db.session.commit()
        board.zincrby(key_of_credits, values["amount"], str(values["account"]))
        return {"request_key": key, "status": "approved"}

    @app.post("/baseline/redeem/<key>")
    def redeem(key: str) -> tuple[dict[str, Any], int]:
        """The conditional stock UPDATE (checked) + INSERT of the hold, one transaction."""
        body = request.get_json()
        values = {"key": key, "item": int(body["item_id"]), "quantity": int(body["quantity"])}
        taken = rows_changed(
            db.session.execute(
                text(
                    "UPDATE bench_item SET stock = stock - :quantity "
                    "WHERE id = :item AND stock >= :quantity"
                ),
                values,
            )
        )
        if taken != 1:
            db.session.rollback()
            abort(409)
        db.session.execute(
            text(
                "INSERT INTO bench_hold (request_key, item_id, quantity) "
                "VALUES (:key, :item, :quantity)"
            ),
            values,
        )
        db.session.commit()
        return {"request_key": key, "status": "held"}, 201

    @app.get("/baseline/leaderboard/<key>")
    def leaderboard(key: str) -> dict[str, Any]:
        """The board's Redis reads; nothing from the database."""
        return _board_reads(board, key_of_board, request.args["member"])

    @app.get("/baseline/unread/<key>")
    def unread(key: str) -> dict[str, Any]:
        """The unread count's Redis read; nothing from the database."""
        return _unread_read(board, key_of_unread, request.args["member"])

    @app.post("/baseline/refresh/<key>")
    def refresh(key: str) -> dict[str, Any]:
        """One SELECT + one INSERT, one transaction."""
        account = int(request.get_json()["account_id"])
        found = db.session.execute(
            text("SELECT id FROM bench_account WHERE id = :account"), {"account": account}
        ).one_or_none()
        if found is None:
            db.session.rollback()
            abort(404)
        db.session.execute(
            text(
                "INSERT INTO bench_refresh (request_key, account_id, token_hash) "
                "VALUES (:key, :account, :hash)"
            ),
            {"key": key, "account": account, "hash": _new_token_hash(key)},
        )
        db.session.commit()
        return {"request_key": key, "status": "refreshed"}

    return app


def create_app() -> Flask:
    """The same routes on raw psycopg (psycopg_pool) and redis-py: no SQLAlchemy."""
    app = Flask("lianxin-bench-baseline")
    pool = ConnectionPool(
        os.environ["BENCH_DATABASE_URL"],
        min_size=int(os.environ.get("LIANXIN_DB_POOL_SIZE") or 5),
        open=True,
    )
    board = redis.Redis.from_url(os.environ["LIANXIN_REDIS_URL"])
    prefix = os.environ.get("LIANXIN_REDIS_PREFIX", "lx:")
    key_of_credits = credits_key(prefix)
    key_of_board = board_key(prefix)
    key_of_unread = unread_key(prefix)
    app.extensions[POOL] = pool
    app.extensions[BOARD] = board
    _echo_request_id(app)

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
        board.zincrby(key_of_credits, amount, str(account))
        return {"request_key": key, "status": "approved"}

    @app.post("/baseline/redeem/<key>")
    def redeem(key: str) -> tuple[dict[str, Any], int]:
        """The conditional stock UPDATE (checked) + INSERT of the hold, one transaction."""
        body = request.get_json()
        item, quantity = int(body["item_id"]), int(body["quantity"])
        with pool.connection() as connection:
            taken = connection.execute(
                "UPDATE bench_item SET stock = stock - %s WHERE id = %s AND stock >= %s",
                (quantity, item, quantity),
            ).rowcount
            if taken != 1:
                connection.rollback()
                abort(409)
            connection.execute(
                "INSERT INTO bench_hold (request_key, item_id, quantity) VALUES (%s, %s, %s)",
                (key, item, quantity),
            )
        return {"request_key": key, "status": "held"}, 201

    @app.get("/baseline/leaderboard/<key>")
    def leaderboard(key: str) -> dict[str, Any]:
        """The board's Redis reads; nothing from the database."""
        return _board_reads(board, key_of_board, request.args["member"])

    @app.get("/baseline/unread/<key>")
    def unread(key: str) -> dict[str, Any]:
        """The unread count's Redis read; nothing from the database."""
        return _unread_read(board, key_of_unread, request.args["member"])

    @app.post("/baseline/refresh/<key>")
    def refresh(key: str) -> dict[str, Any]:
        """One SELECT + one INSERT, one transaction."""
        account = int(request.get_json()["account_id"])
        with pool.connection() as connection:
            found = connection.execute(
                "SELECT id FROM bench_account WHERE id = %s", (account,)
            ).fetchone()
            if found is None:
                abort(404)
            connection.execute(
                "INSERT INTO bench_refresh (request_key, account_id, token_hash) "
                "VALUES (%s, %s, %s)",
                (key, account, _new_token_hash(key)),
            )
        return {"request_key": key, "status": "refreshed"}

    return app
