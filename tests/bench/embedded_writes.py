"""Check-in and approve throughput on the embedded default (SQLite + embedded Redis),
as `make run` serves it: `lianxin serve` with gunicorn workers, driven by wrk.

    .venv/bin/python -m tests.bench.embedded_writes [--seconds 15] [--code DIR]

Seeds the `make bench` scenarios' data (members checking in inside a fence, staff
approving handed-in patrols) into a fresh instance, then walks each request list once
over keep-alive connections and reports req/s, p99 and every status seen. ``--code DIR``
serves another checkout's code (e.g. the commit before a change, for a before/after)
while seeding with this one's, over the same schema.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from api import create_app, extensions
from service.config import Settings
from service.db import utcnow
from tests.bench.http.load import walk
from tests.bench.http.scenarios import SeedContext, seed_approve, seed_checkin
from tests.integration.serving import LIANXIN, free_port, wait_ready

console = Console(stderr=True)
SEEDS = {"checkin": seed_checkin, "approve": seed_approve}


def environment(instance: Path, code: Path | None, threads: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")}
    env.update(
        LIANXIN_ENV="development",
        LIANXIN_INSTANCE_PATH=str(instance),
        # Every request here comes from one address: out of reach, but still counted.
        LIANXIN_RATE_LIMIT="100000000 per minute",
        LIANXIN_SIGN_IN_RATE_LIMIT="100000000 per minute",
        LIANXIN_THREADS=str(threads),
        LIANXIN_LOG_LEVEL="WARNING",
    )
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rate", type=int, default=1500, help="requests seeded per second")
    parser.add_argument("--code", type=Path, help="serve this checkout's code instead")
    parser.add_argument("--only", choices=sorted(SEEDS), action="append")
    options = parser.parse_args(argv)
    table = Table(title="embedded default: SQLite + embedded Redis")
    # Answers/s alone flatters a server that fails fast: 2xx/s is the work done.
    for column in ("scenario", "req/s", "2xx/s", "p50 ms", "p99 ms", "statuses"):
        table.add_column(column)
    for name in options.only or sorted(SEEDS):
        with tempfile.TemporaryDirectory(prefix="lianxin-embedded-bench-") as folder:
            instance = Path(folder) / "instance"
            env = environment(instance, options.code, options.threads)
            # Run from the scratch folder: `python -m gunicorn` puts the working folder first
            # on sys.path, which would serve this checkout whatever --code says.
            subprocess.run(
                [LIANXIN, "db", "upgrade"], env=env, cwd=folder, check=True, capture_output=True
            )
            settings = Settings(instance_path=instance)
            app = create_app(settings)
            with app.app_context():
                session = extensions.session()
                seeded = SEEDS[name](
                    session,
                    SeedContext(
                        secret_key=settings.secret_key,
                        count=int(options.seconds * options.rate),
                        now=utcnow(),
                        boards=extensions.leaderboards(),
                    ),
                )
                session.commit()
            port = free_port()
            server = subprocess.Popen(
                [
                    LIANXIN,
                    "serve",
                    "--workers",
                    str(options.workers),
                    "--bind",
                    f"127.0.0.1:{port}",
                ],
                env=env,
                cwd=folder,
                stdout=subprocess.DEVNULL,
                stderr=(Path(folder) / "serve.log").open("wb"),
            )
            url = f"http://127.0.0.1:{port}"
            try:
                if (outcome := wait_ready(url, server)) != "ready":
                    raise RuntimeError(f"server {outcome}: see {folder}/serve.log")
                console.print(f"{name}: {len(seeded.requests):,} requests seeded; walking …")
                result = walk(
                    url,
                    seeded.requests,
                    seconds=options.seconds,
                    connections=options.connections,
                    threads=1,
                    folder=Path(folder),
                    label=name,
                )
            finally:
                server.terminate()
                server.wait(timeout=30)
            errors = Counter(
                line.split('"status": ')[1].split(",")[0]
                for line in (Path(folder) / "serve.log").read_text().splitlines()
                if '"status": 5' in line
            )
            statuses = dict(sorted(result.statuses.items()))
            table.add_row(
                name,
                f"{result.rate:,.0f}",
                f"{(result.responses - result.not_2xx) / result.seconds:,.0f}",
                f"{result.p50_ms:.0f}",
                f"{result.p99_ms:.0f}",
                f"{statuses}"
                + (f" (log: {dict(errors)} 5xx)" if errors else "")
                + (" EXHAUSTED: seed more (--rate)" if result.exhausted else ""),
            )
            with app.app_context():
                extensions.redis_client().connection_pool.disconnect()
                app.extensions["sqlalchemy"].engine.dispose()
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
