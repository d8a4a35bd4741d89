"""The problem list of a street with 100,000 demands: a filtered page, a deep page, and
the whole list as a spreadsheet (time and peak memory).

    .venv/bin/python -m tests.bench.bench_demand_lists [--demands 100000]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Without --database-url the demands live in a temporary SQLite instance; with it, in a
database lianxin_bench_<random> created for the run and dropped afterwards. Demands
are written straight into the table (executemany): reporting 100,000 through the API
would take the better part of an hour and measure something else. Requests go through
Flask's test client, in process, as a street's staff member; the export is timed
end to end (query, rows, the xlsx written and sent); its memory is Python's own peak
while it ran (tracemalloc, in a second run: it slows what it watches) and the
process's peak RSS after both.
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import flask_migrate
from openpyxl import load_workbook
from sqlalchemy import insert, text

from api import extensions
from api.app import create_app
from points.access import Role, ScopeType
from points.demands import DemandLevel, DemandStatus
from points.places import PlaceLevel
from points.rules import Category
from service.auth.tokens import issue_access_token
from service.config import Settings
from service.db import utcnow
from service.demands.models import DEMAND_TABLE
from service.people.models import RoleGrant, User
from service.places.tree import add_place
from tests.bench.bench_roster_import import database

COMMUNITIES, GRIDS = 10, 10
BATCH = 5_000


def seed(app: object, demands: int) -> str:
    """A street of 10 communities × 10 grids, its staff member, and the demands; answers
    the staff member's access token."""
    rng = random.Random(7)  # noqa: S311 - a repeatable spread of demands, not a secret
    with app.app_context():  # type: ignore[attr-defined]
        session = extensions.session()
        street = add_place(session, None, "东风街道", PlaceLevel.STREET)
        grids = []
        for c in range(COMMUNITIES):
            community = add_place(session, street, f"第{c + 1}社区", PlaceLevel.COMMUNITY)
            grids += [
                add_place(session, community, f"第{g + 1}网格", PlaceLevel.GRID).id
                for g in range(GRIDS)
            ]
        staff = User(name="街道工作人员", residence_place_id=grids[0])
        reporter = User(name="居民", residence_place_id=grids[0])
        session.add_all([staff, reporter])
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
        start = datetime(2026, 1, 1, tzinfo=UTC)
        statuses = list(DemandStatus)
        for first in range(0, demands, BATCH):
            rows = []
            for _ in range(min(BATCH, demands - first)):
                created = start + timedelta(minutes=rng.randrange(0, 330 * 24 * 60))
                status = rng.choice(statuses)
                accepted = status not in (DemandStatus.SUBMITTED, DemandStatus.DECLINED)
                rows.append(
                    {
                        "place_id": rng.choice(grids),
                        "category": rng.choice(list(Category)).value,
                        "description": "楼道灯不亮，晚上出行不便，请尽快处理" * 2,
                        "address": "3栋2单元",
                        "upload_ids": [],
                        "resolution_upload_ids": [],
                        "reporter_id": reporter.id,
                        "reporter_role": "resident",
                        "status": status.value,
                        "level": rng.choice(list(DemandLevel)).value if accepted else None,
                        "accepted_at": created + timedelta(hours=5) if accepted else None,
                        "due_at": created + timedelta(days=3),
                        "due_stage": "resolve",
                        "closed_at": created + timedelta(days=4)
                        if status is DemandStatus.CLOSED
                        else None,
                        "created_at": created,
                        "updated_at": created,
                        "version": 0,
                    }
                )
            session.execute(insert(DEMAND_TABLE), rows)
            session.commit()
        # As autovacuum would soon after such a load: the planner needs the table's stats.
        session.execute(text("ANALYZE"))
        session.commit()
        return issue_access_token(
            extensions.settings().secret_key,
            user_id=staff.id,
            token_version=0,
            family="bench",
            now=utcnow(),
        )


def timed(client: object, path: str, token: str, runs: int) -> tuple[float, int]:
    """Median milliseconds of ``runs`` GETs of ``path``, and the items the last one had."""
    times, items = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get(  # type: ignore[attr-defined]
            path, headers={"Authorization": f"Bearer {token}"}
        )
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.get_json()
        items = len(response.get_json()["items"])
    return statistics.median(times), items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demands", type=int, default=100_000)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, database(options.database_url) as url:
        settings = Settings.from_env(
            {
                "LIANXIN_INSTANCE_PATH": folder,
                **({"LIANXIN_DATABASE_URL": url} if url else {}),
                "LIANXIN_RATE_LIMIT": "",
                "LIANXIN_LOG_LEVEL": "WARNING",
            }
        )
        app = create_app(settings)
        with app.app_context():
            flask_migrate.upgrade()
        began = time.perf_counter()
        token = seed(app, options.demands)
        print(f"seeded {options.demands:,} demands in {time.perf_counter() - began:.1f} s")
        client = app.test_client()
        base = "/api/v1/demand-lists/problems"
        for label, query in (
            ("first page, filtered by level and category", "?level=community&category=facility"),
            ("first page, a period of one month", "?from=2026-06-01&to=2026-06-30"),
            ("page 250 (offset 5,000), unfiltered", "?limit=20&cursor=NTAwMA=="),
        ):
            median, items = timed(client, base + query, token, runs=15)
            print(f"{label}: {median:.1f} ms (median of 15, {items} items)")
        headers = {"Authorization": f"Bearer {token}"}
        began = time.perf_counter()
        with client.get(base + "?format=xlsx", headers=headers) as response:
            data = response.data
        seconds = time.perf_counter() - began
        # Again under tracemalloc for its peak (tracemalloc slows it, so apart).
        tracemalloc.start()
        with client.get(base + "?format=xlsx", headers=headers) as response:
            assert response.status_code == 200
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows = sum(1 for _ in load_workbook(io.BytesIO(data), read_only=True).active.iter_rows())
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"xlsx export: {rows - 2:,} rows, {len(data) / 1e6:.1f} MB in {seconds:.1f} s; "
            f"Python peak {peak / 2**20:.0f} MiB during it; process peak RSS {rss:.0f} MiB"
        )


if __name__ == "__main__":
    main()
