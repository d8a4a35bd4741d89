"""CPU per request of one scenario, in-process: a measure that doesn't drift with the
machine. Seeds the scenario in a fresh PostgreSQL database (as the HTTP benchmark does),
then sends its requests through Flask's test client, to the app or to the stack
baseline, and prints process CPU per request. Under callgrind it counts only the request
loop (instrumentation is switched on around it), which is repeatable to about 1%:

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.out \\
        .venv/bin/python -m tests.bench.http.instructions approve --callgrind
    # "Collected : N" in valgrind's summary / requests = instructions per request

    .venv/bin/python -m tests.bench.http.instructions approve --baseline --callgrind ...
    .venv/bin/python -m tests.bench.http.instructions checkin --floor --callgrind ...

``--floor`` sends the app's own seeded requests to the stack app's floor route, for a
scenario that has one (baseline.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import redis
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from service.leaderboards.boards import Boards
from tests.bench.http import baseline, servers
from tests.bench.http.load import Request
from tests.bench.http.run import bench_database, redis_prefix, server_environment
from tests.bench.http.scenarios import SCENARIOS, SeedContext

WARMUP = 20


def _callgrind(on: bool) -> None:
    state = "on" if on else "off"
    subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], capture_output=True)


def measure(app: Flask, requests: list[Request], callgrind: bool) -> float:
    """Process CPU seconds per request, after a warm-up."""
    client = app.test_client()

    def send(request: Request) -> None:
        response = client.open(
            request.path, method=request.method, headers=request.headers, data=request.body
        )
        assert response.status_code < 300, (request.path, response.get_data())

    for request in requests[:WARMUP]:
        send(request)
    measured = requests[WARMUP:]
    if callgrind:
        _callgrind(True)
    started = time.process_time()
    for request in measured:
        send(request)
    spent = time.process_time() - started
    if callgrind:
        _callgrind(False)
    return spent / len(measured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--baseline", action="store_true", help="the stack baseline's route")
    parser.add_argument("--floor", action="store_true", help="the stack app's floor route")
    parser.add_argument("--callgrind", action="store_true", help="running under callgrind")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    options = parser.parse_args()
    scenario = SCENARIOS[options.scenario]
    if options.floor and not scenario.floor:
        parser.error(f"{scenario.name} has no floor route")
    count = options.requests + WARMUP
    with (
        tempfile.TemporaryDirectory(prefix="lianxin-bench-cpu-") as tmp,
        bench_database(options.database_url) as database_url,
        redis_prefix(options.redis_url) as prefix,
    ):
        env = server_environment(database_url, options.redis_url, prefix, Path(tmp), threads=1)
        subprocess.run([str(servers.LIANXIN), "db", "upgrade"], env=env, check=True)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("LIANXIN_", "BENCH_"))})
        engine = create_engine(make_url(database_url))
        client = redis.Redis.from_url(options.redis_url)
        build: Callable[[], Flask]
        if options.baseline:
            with engine.begin() as connection:
                for statement in baseline.SCHEMA:
                    connection.exec_driver_sql(statement)
            requests = scenario.baseline.requests(count, "cpu")
            build = baseline.create_stack_app
        else:
            with Session(engine) as session:
                context = SeedContext(
                    env["LIANXIN_SECRET_KEY"],
                    count,
                    datetime.now(UTC),
                    Boards(client, prefix, keep_periods=4),
                )
                requests = scenario.seed(session, context).requests[:count]
                session.commit()
            from api.app import create_app

            build = baseline.create_stack_app if options.floor else create_app
        seconds = measure(build(), requests, options.callgrind)
        side = "stack baseline" if options.baseline else "floor" if options.floor else "app"
        print(
            f"{scenario.name} ({side}): "
            f"{seconds * 1000:.2f} ms CPU per request over {len(requests) - WARMUP}"
        )
        engine.dispose()
        client.close()


if __name__ == "__main__":
    main()
