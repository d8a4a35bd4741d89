"""How fast one board answers top-50 + my rank + the people around me, with 1,000,000
members: on Redis (the service's read) and by SQL window functions in PostgreSQL.

    .venv/bin/python -m tests.bench.bench_leaderboard_read [--members 1000000]
        [--redis-url redis://127.0.0.1:6379/0] [--database-url URL] [--samples 2000]

Redis: one board is written under a private key prefix (lxbench:<random>:) and
deleted afterwards; the shared server is never flushed. The timed call is
``service.leaderboards.reading.from_redis`` — the service's Redis read, one Lua call
returning the top 50, the caller's score and competition rank, and 5 people either
side — for a random member each time, then the names of those ~61 people from
PostgreSQL by primary key, as ``read_board`` does.

SQL: with --database-url (an admin URL), a database lianxin_bench_<random> holds a
table of the same 1,000,000 earned totals; the same answer is computed the way the
stale fallback (``service.leaderboards.totals.ranked_board``) does: RANK() and
ROW_NUMBER() over the whole board, then the top, the caller's row and the window.
Scores are drawn with many ties (0–5,000 points), as real boards have.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable

import psycopg
import redis
from sqlalchemy.engine import make_url

from points.leaderboard import Scope, ScopeKind, member_of
from service.leaderboards.boards import Board, Boards
from service.leaderboards.reading import from_redis
from service.leaderboards.store import SENTINEL
from tests.bench.bench_roster_import import database

LIMIT, AROUND = 50, 5
CHUNK = 10_000


def scores(members: int) -> list[int]:
    pick = random.Random(members)  # noqa: S311 - test data, not secrets
    return [int(pick.paretovariate(1.5) * 100) % 5_000 + 1 for _ in range(members)]


def fill_redis(boards: Boards, board: Board, points: list[int]) -> float:
    started = time.perf_counter()
    key = boards.key(board)
    pipe = boards.client.pipeline(transaction=False)
    pipe.zadd(key, {SENTINEL: 0})
    for start in range(0, len(points), CHUNK):
        pipe.zadd(
            key,
            {member_of(start + n + 1): s for n, s in enumerate(points[start : start + CHUNK])},
        )
        if len(pipe) >= 20:
            pipe.execute()
    pipe.execute()
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": ordered[-1] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
    }


def timed(samples: int, call: Callable[[int], object], members: int) -> list[float]:
    pick = random.Random(7)  # noqa: S311 - test data, not secrets
    took = []
    for _ in range(samples):
        user_id = pick.randint(1, members)
        started = time.perf_counter()
        call(user_id)
        took.append(time.perf_counter() - started)
    return took


# Constant SQL of our own; only values are bound.
RANKED = """
WITH ranked AS (
  SELECT user_id, name, score,
         RANK() OVER (ORDER BY score DESC) AS rank,
         ROW_NUMBER() OVER (ORDER BY score DESC, user_id) AS position
  FROM bench_earned
)
"""


def sql_answer(connection: psycopg.Connection, user_id: int) -> None:
    """The fallback's three statements, as ranked_board issues them."""
    connection.execute(RANKED + "SELECT * FROM ranked ORDER BY position LIMIT %s", (LIMIT,))  # noqa: S608
    mine = connection.execute(RANKED + "SELECT * FROM ranked WHERE user_id = %s", (user_id,))  # noqa: S608
    found = mine.fetchone()
    assert found is not None
    position = found[4]
    connection.execute(
        RANKED + "SELECT * FROM ranked WHERE position BETWEEN %s AND %s ORDER BY position",  # noqa: S608
        (position - AROUND, position + AROUND),
    ).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--database-url", help="PostgreSQL admin URL for the SQL comparison")
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--sql-samples", type=int, default=30)
    options = parser.parse_args()

    points = scores(options.members)
    client = redis.Redis.from_url(options.redis_url)
    prefix = f"lxbench:{uuid.uuid4().hex[:10]}:"
    boards = Boards(client, prefix, keep_periods=4)
    board = Board("jifen", Scope(ScopeKind.PLACE, 1), "all")
    with database(options.database_url) as database_url:
        try:
            loaded = fill_redis(boards, board, points)
            print(f"redis            {options.redis_url}, {client.info('server')['redis_version']}")
            print(f"board            {options.members:,} members loaded in {loaded:.1f} s")
            answer = from_redis(boards, board, 1, limit=LIMIT, around=AROUND)
            assert answer is not None
            assert len(answer[0]) == LIMIT
            assert answer[1] is not None
            timed(200, lambda u: from_redis(boards, board, u, limit=LIMIT, around=AROUND), 100)
            redis_only = timed(
                options.samples,
                lambda u: from_redis(boards, board, u, limit=LIMIT, around=AROUND),
                options.members,
            )
            report("redis read", redis_only)
            if database_url is None:
                return
            plain = make_url(database_url).set(drivername="postgresql")
            with psycopg.connect(
                plain.render_as_string(hide_password=False), autocommit=True
            ) as connection:
                started = time.perf_counter()
                connection.execute(
                    "CREATE TABLE bench_earned "
                    "(user_id INTEGER PRIMARY KEY, name TEXT NOT NULL, score BIGINT NOT NULL)"
                )
                with connection.cursor().copy(
                    "COPY bench_earned (user_id, name, score) FROM STDIN"
                ) as copy:
                    for n, score in enumerate(points, start=1):
                        copy.write_row((n, f"党员{n}", score))
                connection.execute("VACUUM ANALYZE bench_earned")
                print(
                    f"postgresql       {options.members:,} earned totals loaded in "
                    f"{time.perf_counter() - started:.1f} s"
                )

                def with_names(user_id: int) -> None:
                    found = from_redis(boards, board, user_id, limit=LIMIT, around=AROUND)
                    assert found is not None
                    ids = sorted({s.user_id for s in (*found[0], *found[2])})
                    connection.execute(
                        "SELECT user_id, name FROM bench_earned WHERE user_id = ANY(%s)", (ids,)
                    ).fetchall()

                full = timed(options.samples, with_names, options.members)
                report("redis + names", full)
                sql_answer(connection, 1)  # warm the buffers
                sql = timed(
                    options.sql_samples, lambda u: sql_answer(connection, u), options.members
                )
                report("sql window fns", sql)
                ratio_p99 = percentiles(sql)["p99"] / percentiles(full)["p99"]
                ratio_p50 = percentiles(sql)["p50"] / percentiles(full)["p50"]
                print(
                    f"ratio            SQL / Redis+names: p50 {ratio_p50:,.0f}×, "
                    f"p99 {ratio_p99:,.0f}×"
                )
        finally:
            for key in client.scan_iter(match=f"{prefix}*", count=1000):
                client.delete(key)
            client.close()
    print(f"machine          {os.cpu_count()} CPUs")


def report(label: str, samples: list[float]) -> None:
    p = percentiles(samples)
    print(
        f"{label:<16} n={len(samples):<5} p50 {p['p50']:.2f} ms  p95 {p['p95']:.2f} ms  "
        f"p99 {p['p99']:.2f} ms  max {p['max']:.2f} ms  mean {p['mean']:.2f} ms"
    )


if __name__ == "__main__":
    main()
