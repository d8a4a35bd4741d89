"""The multi-instance run at size: two production gunicorn instances sharing one
PostgreSQL database and one Redis, a round-robin client, many members.

    .venv/bin/python -m tests.bench.multi_instance --members 300 --browse 60

Creates its own database (on the server of --database-url) and Redis key prefix and
removes both afterwards. Members sign in through a local WeChat stub, do a task,
have it approved, browse for --browse seconds, then all race for an item with
--stock on the shelf (with Idempotency-Key replays on the other instance). Prints
what happened, the invariants checked afterwards (ledger verify, no oversell, outbox
applied, Redis boards equal to the ledger) and each gunicorn worker's resident memory
after the load. Exits 1 if an invariant broke.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import flask_migrate
import redis
from flask import Flask
from sqlalchemy import func, select

from api import create_app, extensions
from service.db import utcnow
from service.leaderboards.rebuild import Selection, regenerate
from service.ledger.models import EarningEvent
from service.ledger.verify import verify
from service.stations.models import CatalogueItem, Redemption
from tests.conftest import Backend, _create_database, _drop_database, close_app
from tests.integration.multi_instance import (
    WORKER_RSS_LIMIT_MB,
    Outcome,
    World,
    drive,
    production_environ,
    running,
    seed_world,
    summary,
)
from tests.wechat_stub import WechatStub


def invariants(app: Flask, world: World, outcome: Outcome) -> list[str]:
    """What must hold after the load; each problem is one line."""
    problems = []
    statuses = Counter(a.status for a in outcome.attempts)
    if statuses[201] != world.stock or statuses[409] != len(outcome.attempts) - world.stock:
        problems.append(f"race: {dict(statuses)}, wanted {world.stock} × 201, the rest 409")
    for original, replay in outcome.replays:
        same = replay.status == original.status and (
            original.status != 201 or replay.body == original.body
        )
        if not same:
            problems.append(f"replay differs: {original} then {replay}")
    with app.app_context():
        session = extensions.session()
        stock = session.scalar(select(CatalogueItem.stock).where(CatalogueItem.id == world.item_id))
        held = session.scalar(
            select(func.count())
            .select_from(Redemption)
            .where(Redemption.item_id == world.item_id, Redemption.status == "held")
        )
        if stock != 0 or held != world.stock:
            problems.append(f"stock {stock} left and {held} held, of {world.stock}")
        report = verify(session)
        problems += [f"ledger verify: {p}" for p in report.problems]
        unapplied = session.scalar(
            select(func.count()).select_from(EarningEvent).where(EarningEvent.applied_at.is_(None))
        )
        if unapplied:
            problems.append(f"{unapplied} outbox event(s) not applied to Redis")
        session.rollback()
        reconciled = regenerate(
            session, extensions.leaderboards(), Selection(), now=utcnow(), compare=True
        )
        problems += [f"board differs from the ledger: {d}" for d in reconciled.differences]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--stock", type=int, default=50)
    parser.add_argument("--browse", type=float, default=30, help="seconds of reads")
    parser.add_argument("--workers", type=int, default=2, help="per instance")
    parser.add_argument("--threads", type=int, default=4, help="per worker")
    parser.add_argument("--clients", type=int, default=32, help="client threads")
    parser.add_argument("--replayed", type=int, default=10)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "LIANXIN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="an admin URL; a database is created beside it and dropped afterwards",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("LIANXIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    args = parser.parse_args()
    if args.stock >= args.members:
        parser.error("--stock must be smaller than --members, or there is no race")

    database_url, database_name = _create_database(args.database_url)
    prefix = f"lxbench:{uuid.uuid4().hex[:10]}:"
    with tempfile.TemporaryDirectory(prefix="lianxin-multi-") as workdir:
        backend = Backend("postgresql", Path(workdir), database_url, args.redis_url, prefix)
        app = create_app(backend.settings())
        try:
            with app.app_context():
                flask_migrate.upgrade()
            world = seed_world(app, members=args.members, stock=args.stock)
            with WechatStub() as stub:
                for openid, code in world.sign_in_codes().items():
                    stub.add_user(code, openid)
                environ = production_environ(
                    backend, stub, LIANXIN_THREADS=str(args.threads), LIANXIN_DB_POOL_SIZE="5"
                )
                with running(environ, Path(workdir), workers=args.workers) as instances:
                    outcome = drive(
                        instances,
                        world,
                        threads=args.clients,
                        replayed=args.replayed,
                        browsing=args.browse,
                    )
                    memory = [m for i in instances for m in i.worker_memory()]
            problems = invariants(app, world, outcome)
        finally:
            close_app(app)
            _drop_database(args.database_url, database_name)
            client = redis.Redis.from_url(args.redis_url)
            for key in client.scan_iter(match=f"{prefix}*", count=1000):
                client.delete(key)
            client.close()

    print(f"members {args.members}, stock {args.stock}, {args.workers} workers per instance")
    print(summary(outcome, memory))
    statuses = Counter(a.status for a in outcome.attempts)
    print(f"race: {dict(statuses)}; {len(outcome.replays)} replays on the other instance")
    peak = max(m.peak_mb for m in memory)
    print(f"peak worker RSS {peak:.0f} MB (bound {WORKER_RSS_LIMIT_MB} MB)")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("invariants: " + ("held" if not problems else f"{len(problems)} broken"))
    return 1 if problems or peak >= WORKER_RSS_LIMIT_MB else 0


if __name__ == "__main__":
    sys.exit(main())
