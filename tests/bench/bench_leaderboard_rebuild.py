"""How long `lianxin leaderboard rebuild` takes to rebuild every board from a ledger of
1,000,000 transfers, and proof that what it wrote is right.

    .venv/bin/python -m tests.bench.bench_leaderboard_rebuild [--transfers 1000000]
        [--members 20000] [--database-url URL] [--redis-url redis://127.0.0.1:6379/0]
        [--keep-periods 4]

The ledger is the ledger-verify benchmark's (bench_ledger_verify: earn, award,
deduct, redemptions, reversals; a year of it), shifted to end now, so the kept
periods hold data. Members are spread over a district → street → 10 communities →
8 grids each; every other member belongs to a department's party branch, so one
earning counts on up to 6 scopes × 5 periods. By default (no --database-url) the
ledger is a SQLite file; with an admin URL a database lianxin_bench_<random> is
made and dropped on PostgreSQL.

Rebuild runs as the operator runs it, a `lianxin` child process, against Redis under
a private key prefix that is deleted afterwards. Then `lianxin leaderboard
reconcile` must find nothing to repair: every board equals the SQL answer.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import redis
from sqlalchemy.engine import URL

from service.config import Settings
from tests.bench import bench_ledger_verify as ledger_bench
from tests.bench.bench_roster_import import database

COMMUNITIES, GRIDS = 10, 8


def place_rows() -> tuple[list[tuple[int, int | None, str, str, str]], list[int]]:
    """(id, parent, name, level, path) for the tree; and the grid ids."""
    rows: list[tuple[int, int | None, str, str, str]] = [
        (1, None, "连心区", "district", "/1/"),
        (2, 1, "连心街道", "street", "/1/2/"),
    ]
    grids = []
    next_id = 3
    for c in range(COMMUNITIES):
        community = next_id
        rows.append((community, 2, f"社区{c + 1}", "community", f"/1/2/{community}/"))
        next_id += 1
        for g in range(GRIDS):
            rows.append(
                (next_id, community, f"第{g + 1}网格", "grid", f"/1/2/{community}/{next_id}/")
            )
            grids.append(next_id)
            next_id += 1
    return rows, grids


def add_places_and_branches(url: URL, members: int) -> None:
    places, grids = place_rows()
    stamp = datetime.now(UTC)
    statements = [
        ("INSERT INTO department (id, name, created_at) VALUES (1, '区民政局', ?)", [(stamp,)]),
        (
            "INSERT INTO branch (id, name, department_id, place_id, created_at) "
            "VALUES (1, '机关支部', 1, NULL, ?)",
            [(stamp,)],
        ),
    ]
    place_sql = (
        "INSERT INTO place (id, parent_id, name, level, path, created_at) VALUES (?, ?, ?, ?, ?, ?)"
    )
    # Every member lives in a grid; every other one is in the department's branch.
    people_sql = "UPDATE app_user SET residence_place_id = ?, home_branch_id = ? WHERE id = ?"
    people = [
        (grids[user_id % len(grids)], 1 if user_id % 2 == 0 else None, user_id)
        for user_id in range(1, members + 1)
    ]
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        lite = sqlite3.connect(url.database)
        with lite:
            lite.executemany(place_sql, [(*p, stamp.isoformat()) for p in places])
            for sql, rows in statements:
                lite.executemany(sql, [tuple(r.isoformat() for r in row) for row in rows])
            lite.executemany(people_sql, people)
        lite.close()
        return
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as postgres, postgres.cursor() as cursor:
        cursor.executemany(place_sql.replace("?", "%s"), [(*p, stamp) for p in places])
        for sql, rows in statements:
            cursor.executemany(sql.replace("?", "%s"), rows)
        cursor.executemany(people_sql.replace("?", "%s"), people)
        for table in ("place", "department", "branch"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608
            )
        postgres.commit()
        postgres.autocommit = True
        postgres.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--database-url", help="PostgreSQL admin URL (default: SQLite)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--keep-periods", type=int, default=4)
    options = parser.parse_args()
    # The generated year ends now, so this week, month, quarter and year have data.
    span = timedelta(seconds=options.transfers * ledger_bench.SECONDS_PER_TRANSFER)
    ledger_bench.STARTED = datetime.now(UTC) - span - timedelta(minutes=5)
    prefix = f"lxbench:{uuid.uuid4().hex[:10]}:"
    client = redis.Redis.from_url(options.redis_url)
    with (
        tempfile.TemporaryDirectory(prefix="lianxin-bench-") as tmp,
        database(options.database_url) as database_url,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")}
        env.update(
            LIANXIN_INSTANCE_PATH=str(Path(tmp) / "instance"),
            LIANXIN_ENV="development",
            LIANXIN_REDIS_URL=options.redis_url,
            LIANXIN_REDIS_PREFIX=prefix,
            LIANXIN_LEADERBOARD_KEEP_PERIODS=str(options.keep_periods),
            COLUMNS="100",
        )
        if database_url:
            env["LIANXIN_DATABASE_URL"] = database_url
        url = Settings.from_env(env).sqlalchemy_url
        try:
            upgrade = ledger_bench.lianxin(env, "db", "upgrade")
            if upgrade.exit_code != 0:
                raise SystemExit(f"lianxin db upgrade failed:\n{upgrade.output}")
            loaded = ledger_bench.load_ledger(url, options.transfers, options.members)
            add_places_and_branches(url, options.members)
            rebuild = ledger_bench.lianxin(env, "leaderboard", "rebuild")
            if rebuild.exit_code != 0:
                raise SystemExit(f"rebuild failed:\n{rebuild.output}")
            keys = sum(1 for _ in client.scan_iter(match=f"{prefix}lb:{{*}}", count=1000))
            started = time.perf_counter()
            reconcile = ledger_bench.lianxin(env, "leaderboard", "reconcile")
            if reconcile.exit_code != 0 or " 0 repaired" not in reconcile.output:
                raise SystemExit(f"reconcile found the rebuilt boards wrong:\n{reconcile.output}")
            reconciled = time.perf_counter() - started
        finally:
            for key in client.scan_iter(match=f"{prefix}*", count=1000):
                client.delete(key)
            client.close()
    mix = ", ".join(f"{kind} {count:,}" for kind, count in sorted(loaded.kinds.items()))
    print(f"backend          {url.get_backend_name()} ({os.cpu_count()} CPUs)")
    print(f"redis            {options.redis_url}")
    print(f"ledger           {options.transfers:,} transfers ({mix})")
    print(f"                 loaded in {loaded.seconds:.0f} s")
    print(f"rebuild          {rebuild.output.splitlines()[-1]}")
    print(
        f"                 {rebuild.seconds:.1f} s with the command's start-up, "
        f"peak RSS {rebuild.peak_rss_mib:.0f} MiB, {keys:,} board keys"
    )
    print(f"reconcile        {reconcile.output.splitlines()[-1]}")
    print(
        f"                 {reconciled:.1f} s with start-up, "
        f"peak RSS {reconcile.peak_rss_mib:.0f} MiB"
    )


if __name__ == "__main__":
    main()
