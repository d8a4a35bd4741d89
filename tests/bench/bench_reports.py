"""述统亮评 of a big street: the quarterly summary and the league table of its
communities, on PostgreSQL, over 50,000 members, 1,000,000 approved participations
and 1,000,000 ledger transfers (time and peak RSS).

    .venv/bin/python -m tests.bench.bench_reports [--members 50000]
        [--participations 1000000] [--transfers 1000000]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

A database lianxin_bench_<random> is created for the run and dropped afterwards. The
rows are written straight into the tables with COPY (explicit ids, sequences moved
past them, then ANALYZE as autovacuum would): a street of 10 communities × 10 grids,
a branch per community, 2,000 tasks, the members (three in five party members, each
in their community's branch), the participations (approved, decided over the third
and fourth quarters of 2026, so that the summary counts half of them in its quarter
and the other half in the quarter before it compares with) and the transfers (earned
积分 and 幸福币, handed-over redemptions and expiries over the same half year).

The reports are then asked for in a second process started by /usr/bin/time, so its
peak RSS is the report's and not the seeding's: the street's summary as JSON (three
runs, the median), as XLSX, and the league table of its ten communities.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import flask_migrate
import psycopg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from api import extensions
from api.app import create_app
from points.access import Role, ScopeType
from points.places import PlaceLevel
from service.auth.tokens import issue_access_token
from service.config import Settings
from service.db import utcnow
from service.organisation.models import Branch
from service.people.models import RoleGrant, User
from service.places.tree import add_place
from tests.bench.bench_roster_import import database

COMMUNITIES, GRIDS, TASKS = 10, 10, 2_000
HALF_YEAR = datetime(2026, 7, 1, tzinfo=UTC) - timedelta(hours=8)  # local midnight, 1 July
HALF_YEAR_SECONDS = 184 * 24 * 3600
TIME = Path("/usr/bin/time")
CATEGORIES = ["space", "service", "environment", "safety", "facility", "culture", "charity"]
TYPES = ["door_knock", "elder_delivery", "patrol", "cleanup", "neighbour_help", "culture"]


def copy(connection: psycopg.Connection[Any], table: str, columns: Sequence[str],
         rows: Iterable[Sequence[Any]]) -> None:  # fmt: skip
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as stream,
    ):
        for row in rows:
            stream.write_row(row)


def seed(app: Any, url: str, members: int, participations: int, transfers: int) -> dict[str, Any]:
    rng = random.Random(17)  # noqa: S311 - a repeatable spread, not a secret
    with app.app_context():
        session = extensions.session()
        street = add_place(session, None, "东风街道", PlaceLevel.STREET)
        grids: list[tuple[int, int]] = []  # (grid, its community's branch)
        for c in range(COMMUNITIES):
            community = add_place(session, street, f"第{c + 1}社区", PlaceLevel.COMMUNITY)
            branch = Branch(name=f"第{c + 1}社区党支部", place_id=community.id)
            session.add(branch)
            session.flush()
            for g in range(GRIDS):
                grid = add_place(session, community, f"第{g + 1}网格", PlaceLevel.GRID)
                grids.append((grid.id, branch.id))
        staff = User(name="街道工作人员", residence_place_id=grids[0][0])
        session.add(staff)
        session.flush()
        session.add(
            RoleGrant(
                user_id=staff.id,
                role=Role.STAFF.value,
                scope_type=ScopeType.PLACE.value,
                scope_id=street.id,
            )
        )
        session.commit()
        token = issue_access_token(
            extensions.settings().secret_key,
            user_id=staff.id,
            token_version=0,
            family="bench",
            now=utcnow(),
        )
        first_user = staff.id + 1
    connection = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    now = utcnow()
    homes = [rng.choice(grids) for _ in range(members)]
    is_member = [rng.random() < 0.6 for _ in range(members)]
    copy(
        connection,
        "app_user",
        ("id", "name", "residence_place_id", "home_branch_id", "created_at"),
        (
            (first_user + i, f"居民{i}", homes[i][0], homes[i][1] if is_member[i] else None, now)
            for i in range(members)
        ),
    )
    task_places = [rng.choice(grids)[0] for _ in range(TASKS)]
    task_starts = [
        HALF_YEAR + timedelta(seconds=rng.randrange(HALF_YEAR_SECONDS)) for _ in task_places
    ]
    copy(
        connection,
        "task",
        ("id", "place_id", "title", "description", "category", "type", "address", "lat", "lng",
         "radius_m", "starts_at", "ends_at", "capacity", "signed_up_count", "audience",
         "checkin_mode", "work_unit", "status", "created_by_id", "created_at", "version"),
        (
            (t + 1, place, "敲门行动", "", rng.choice(CATEGORIES), rng.choice(TYPES), "", 39.9,
             116.4, 300, task_starts[t], task_starts[t] + timedelta(hours=3), 1000, 0,
             "everyone", "both", "residents_helped" if t % 5 == 0 else "hours",
             "closed" if t % 3 else "published", staff.id, now, 1)
            for t, place in enumerate(task_places)
        ),
    )  # fmt: skip

    def participation_rows() -> Iterable[Sequence[Any]]:
        offsets = [rng.randrange(TASKS) for _ in range(members)]
        for i in range(participations):
            person, round_ = i % members, i // members
            task = (offsets[person] + round_) % TASKS  # one part per person per task
            decided = HALF_YEAR + timedelta(seconds=rng.randrange(HALF_YEAR_SECONDS))
            yield (
                i + 1, task + 1, first_user + person, "approved",
                "member" if is_member[person] else "volunteer", decided, decided,
                f"{rng.choice((1, 1.5, 2, 2.5, 3, 4))}", 0, "[]", rng.randrange(1, 6), decided,
                staff.id, decided,
            )  # fmt: skip

    copy(
        connection,
        "participation",
        ("id", "task_id", "user_id", "status", "role", "signed_up_at", "submitted_at", "hours",
         "failed_checkins", "flags", "units", "decided_at", "decided_by_id", "created_at"),
        participation_rows(),
    )  # fmt: skip
    # Accounts: 积分 and 幸福币 per member (ids 2i+1, 2i+2), then issuance and two sinks.
    system = 2 * members
    copy(
        connection,
        "ledger_account",
        ("id", "currency", "user_id", "system_key", "no_overdraft", "created_at"),
        [
            *(
                (2 * i + 1 + k, currency, first_user + i, None, currency == "xingfubi", now)
                for i in range(members)
                for k, currency in enumerate(("jifen", "xingfubi"))
            ),
            (system + 1, "jifen", None, "bench:issuance", False, now),
            (system + 2, "xingfubi", None, "bench:issuance", False, now),
            (system + 3, "xingfubi", None, "bench:sink:redeemed", False, now),
            (system + 4, "xingfubi", None, "bench:sink:expired", False, now),
        ],
    )

    def transfer_rows() -> Iterable[Sequence[Any]]:
        holds: dict[int, tuple[int, int, int]] = {}  # hold id → account, amount, share
        for i in range(transfers):
            person = rng.randrange(members)
            jifen, xingfubi = 2 * person + 1, 2 * person + 2
            share, pending, amount = i % 100, None, rng.randrange(1, 20)
            at = HALF_YEAR + timedelta(seconds=rng.randrange(HALF_YEAR_SECONDS))
            phase = "posted"
            if share < 80:
                kind, currency, debit, credit = "earn", "jifen", system + 1, jifen
            elif share < 95:
                kind, currency, debit, credit = "earn", "xingfubi", system + 2, xingfubi
            elif share < 97:  # a hold, handed over two transfers later
                kind, currency, debit, credit = "redeem_hold", "xingfubi", xingfubi, system + 3
                phase = "pending"
                holds[i + 1] = (xingfubi, amount, share)
            elif share < 99:
                pending = i + 1 - 2
                debit, amount, _ = holds.pop(pending)
                kind, currency, credit, phase = (
                    "redeem_post",
                    "xingfubi",
                    system + 3,
                    "post_pending",
                )
            else:
                kind, currency, debit, credit = "expire", "xingfubi", xingfubi, system + 4
            yield (i + 1, f"bench:{i}", kind, phase, currency, debit, credit, amount, "", at,
                   pending)  # fmt: skip

    copy(
        connection,
        "ledger_transfer",
        ("id", "idempotency_key", "kind", "phase", "currency", "debit_account_id",
         "credit_account_id", "amount", "explanation", "created_at", "pending_id"),
        transfer_rows(),
    )  # fmt: skip
    for table in ("app_user", "task", "participation", "ledger_account", "ledger_transfer"):
        connection.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608
        )
    connection.commit()
    connection.autocommit = True
    connection.execute("VACUUM ANALYZE")
    connection.close()
    return {"token": token, "street": street.id, "grid": grids[0][0]}


def cpu_seconds(backends: set[int]) -> float:
    """CPU time the PostgreSQL backends serving the reports have used (they run on this
    machine): with other work on the cores, wall time says more about them than us."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in backends:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def measure(url: str, token: str, street: int, grid: int, runs: int) -> None:
    """In its own process: the reports, timed, as the street's staff would ask."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env(
            {
                "LIANXIN_INSTANCE_PATH": folder,
                "LIANXIN_DATABASE_URL": url,
                "LIANXIN_RATE_LIMIT": "",
                "LIANXIN_LOG_LEVEL": "WARNING",
            }
        )
        app = create_app(settings)
        client = app.test_client()
        backends: set[int] = set()
        with app.app_context():
            engine = extensions.reports_engine()
        event.listen(engine, "connect", lambda dbapi, _record: backends.add(dbapi.info.backend_pid))
        headers = {"Authorization": f"Bearer {token}"}
        quarter = "from=2026-10-01&to=2026-12-31"
        results: dict[str, Any] = {}
        for name, path in (
            ("summary", f"/api/v1/reports/summary?scope=org:{street}&{quarter}"),
            ("league", f"/api/v1/reports/league?scope=org:{street}&{quarter}"),
            ("summary_xlsx", f"/api/v1/reports/summary?scope=org:{street}&{quarter}&format=xlsx"),
            ("grid_summary", f"/api/v1/reports/summary?scope=org:{grid}&{quarter}"),
        ):
            times, cpu = [], []
            for _ in range(runs):
                began, server, own = time.perf_counter(), cpu_seconds(backends), time.process_time()
                with client.get(path, headers=headers) as response:
                    assert response.status_code == 200, response.get_data(as_text=True)
                    body = response.data
                times.append(time.perf_counter() - began)
                cpu.append(cpu_seconds(backends) - server + time.process_time() - own)
            results[name] = {
                "median_s": round(statistics.median(times), 3),
                "runs": times,
                "cpu_s": round(statistics.median(cpu), 3),
            }
            if name == "summary":
                figures = json.loads(body)["own"]["figures"]
                results["figures"] = {
                    k: figures[k]
                    for k in ("participations_approved", "volunteers", "volunteer_hours",
                              "jifen_issued", "xingfubi_redeemed", "tasks_published")
                }  # fmt: skip
            if name == "league":
                results["league_rows"] = len(json.loads(body)["rows"])
        print(json.dumps(results, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--participations", type=int, default=1_000_000)
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LIANXIN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )  # fmt: skip
    parser.add_argument(
        "--measure", nargs=4, metavar=("URL", "TOKEN", "STREET", "GRID"), help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    if options.measure:
        url, token, street, grid = options.measure
        measure(url, token, int(street), int(grid), options.runs)
        return
    with tempfile.TemporaryDirectory() as folder, database(options.database_url) as url:
        assert url is not None
        settings = Settings.from_env(
            {
                "LIANXIN_INSTANCE_PATH": folder,
                "LIANXIN_DATABASE_URL": url,
                "LIANXIN_LOG_LEVEL": "WARNING",
            }
        )
        app = create_app(settings)
        with app.app_context():
            flask_migrate.upgrade()
        began = time.perf_counter()
        seeded = seed(app, url, options.members, options.participations, options.transfers)
        with app.app_context():
            extensions.reports_engine().dispose()
        print(
            f"seeded {options.members:,} members, {options.participations:,} participations, "
            f"{options.transfers:,} transfers in {time.perf_counter() - began:.0f} s"
        )
        with tempfile.NamedTemporaryFile("r", prefix="lianxin-rss-") as rss:
            command = [str(TIME), "-f", "%M", "-o", rss.name] if TIME.exists() else []
            completed = subprocess.run(
                [*command, sys.executable, "-m", "tests.bench.bench_reports", "--runs",
                 str(options.runs), "--measure", url, seeded["token"], str(seeded["street"]),
                 str(seeded["grid"])],
                stdout=subprocess.PIPE,
                check=True,
            )  # fmt: skip
            peak = int(rss.read().split()[-1]) / 1024 if command else None
        results = json.loads(completed.stdout.decode().strip().splitlines()[-1])
        for name in ("summary", "league", "summary_xlsx", "grid_summary"):
            runs = ", ".join(f"{t:.2f}" for t in results[name]["runs"])
            print(
                f"{name}: median {results[name]['median_s']:.2f} s ({runs}); "
                f"CPU (server + client) {results[name]['cpu_s']:.2f} s"
            )
        print(f"league rows: {results['league_rows']}; figures: {results['figures']}")
        print(f"peak RSS of the reporting process: {peak:.0f} MiB" if peak else "no /usr/bin/time")
        print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
