"""The command: seed, serve, load, check, report."""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from service.leaderboards.boards import Boards
from tests.bench.http import baseline, servers
from tests.bench.http.load import REQUEST_ID, Request, Walk, require_wrk, walk
from tests.bench.http.scenarios import SCENARIOS, Scenario, SeedContext, Seeded, Send

DEFAULT_RESULTS = Path(__file__).resolve().parents[1] / "http_results.json"
# Wide enough for the table when the output goes to a file or a pipe.
console = Console(width=None if sys.stdout.isatty() else 150)


@dataclass
class Side:
    """One server's part in one scenario: a warm-up, then measured rounds that
    alternate with the other side's, so both see the same noise from the machine."""

    label: str
    endpoint: str
    warmup: Walk | None = None
    rounds: list[Walk] = field(default_factory=list)
    peak_rss_mib: float = 0.0
    workers_seen: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        seconds = sum(w.seconds for w in self.rounds)
        return sum(w.responses for w in self.rounds) / seconds if seconds else 0.0

    @property
    def p50_ms(self) -> float:
        """The median of the rounds' medians (wrk's histograms can't be merged)."""
        return statistics.median(w.p50_ms for w in self.rounds)

    @property
    def p99_ms(self) -> float:
        return statistics.median(w.p99_ms for w in self.rounds)

    @property
    def walks(self) -> list[Walk]:
        return ([self.warmup] if self.warmup else []) + self.rounds

    def as_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "requests_per_second": round(self.rate, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "rounds": [
                {
                    "requests_per_second": round(w.rate, 1),
                    "responses": w.responses,
                    "seconds": round(w.seconds, 2),
                    "p50_ms": round(w.p50_ms, 2),
                    "p90_ms": round(w.p90_ms, 2),
                    "p99_ms": round(w.p99_ms, 2),
                    "max_ms": round(w.max_ms, 2),
                    "statuses": {str(k): v for k, v in sorted(w.statuses.items())},
                    "socket_errors": w.socket_errors,
                    "exhausted": w.exhausted,
                }
                for w in self.rounds
            ],
            "warmup_responses": self.warmup.responses if self.warmup else 0,
            "peak_rss_mib_per_worker": round(self.peak_rss_mib, 1),
            "workers_seen": self.workers_seen,
            "problems": self.problems,
        }


@dataclass
class Outcome:
    scenario: Scenario
    app: Side
    stack: Side  # the target's denominator: the same work on Flask-SQLAlchemy + redis-py
    bare: Side  # the same work on raw psycopg, for information
    # The use case's own statements alone on the stack (Scenario.floor), if it has one.
    floor: Side | None = None

    @property
    def ratio(self) -> float:
        return _ratio(self.app, self.stack)

    @property
    def ratio_bare(self) -> float:
        return _ratio(self.app, self.bare)

    @property
    def sides(self) -> tuple[Side, ...]:
        return (self.stack, self.bare, *([self.floor] if self.floor else []), self.app)

    @property
    def valid(self) -> bool:
        return not any(side.problems for side in self.sides)


def _ratio(side: Side, baseline: Side) -> float:
    return side.rate / baseline.rate if baseline.rate else 0.0


@contextmanager
def bench_database(admin_url: str) -> Iterator[str]:
    url = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"lianxin_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"lxbench:{uuid.uuid4().hex[:10]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def server_environment(
    database_url: str, redis_url: str, prefix: str, instance: Path, threads: int
) -> dict[str, str]:
    """Production settings, as a deployment has them, with one exception: the limit per
    client address is raised out of reach (every request here comes from one address)
    but kept on, so each request still pays for its Redis counter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIANXIN_", "BENCH_"))}
    env.update(
        LIANXIN_ENV="production",
        LIANXIN_INSTANCE_PATH=str(instance),
        LIANXIN_DATABASE_URL=database_url,
        LIANXIN_REDIS_URL=redis_url,
        LIANXIN_REDIS_PREFIX=prefix,
        LIANXIN_SECRET_KEY=secrets.token_urlsafe(48),
        LIANXIN_DATA_KEY=secrets.token_urlsafe(48),
        # Live WeChat mode with a dead endpoint: no request here signs in.
        LIANXIN_WECHAT_MODE="live",
        LIANXIN_WECHAT_APPID="wx-bench",
        LIANXIN_WECHAT_SECRET="bench-secret",
        LIANXIN_WECHAT_BASE_URL="http://127.0.0.1:9",
        LIANXIN_WECHAT_PUSH_TOKEN="bench-push-token",
        LIANXIN_PUBLIC_BASE_URL="https://lianxin.example.cn",
        LIANXIN_CERTIFICATE_VERIFY_BASE_URL="https://lianxin.example.cn",
        LIANXIN_RATE_LIMIT="100000000 per minute",
        LIANXIN_SIGN_IN_RATE_LIMIT="100000000 per minute",
        LIANXIN_THREADS=str(threads),
        BENCH_DATABASE_URL=make_url(database_url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False),
    )
    return env


def account(label: str, walks: list[Walk], done: set[str] | None, sent: list[Request]) -> list[str]:
    """Hold the database to what the server answered: every 2xx is done, nothing else
    is, except requests still in flight when the walk ended. Reads (``done`` None)
    change nothing, so only their answers are checked."""
    problems = []
    ok = {key for w in walks for key in w.ok_keys}
    not_2xx = sum(w.not_2xx for w in walks)
    unanswered = sum(w.unanswered for w in walks)
    sockets = sum((Counter(w.socket_errors) for w in walks), Counter[str]())
    if not_2xx:
        statuses = {s: n for w in walks for s, n in w.statuses.items() if not 200 <= s < 300}
        problems.append(f"{label}: {not_2xx} answers were not 2xx {statuses}")
    if sockets:
        problems.append(f"{label}: socket errors {dict(sockets)}")
    if not ok:
        problems.append(f"{label}: no request succeeded")
    if done is not None:
        if missing := ok - done:
            problems.append(f"{label}: {len(missing)} answered 2xx but not done in the database")
        if stray := done - {r.key for r in sent}:
            problems.append(f"{label}: {len(stray)} done in the database but never sent")
        if len(extra := done - ok) > unanswered:
            problems.append(
                f"{label}: {len(extra)} done without a 2xx answer, more than the "
                f"{unanswered} left unanswered"
            )
    if any(w.exhausted for w in walks):
        problems.append(f"{label}: request list exhausted (req/s understated); raise --seed-rate")
    return problems


def chunks(requests: list[Request], per_second: float, spans: list[float]) -> list[list[Request]]:
    """Disjoint slices of the list, one per walk, each sized for its seconds."""
    slices, start = [], 0
    for seconds in spans:
        end = start + int(seconds * per_second)
        slices.append(requests[start:end])
        start = end
    slices[-1] = requests[start - len(slices[-1]) :]  # the last walk may take the rest
    return slices


def send_over_http(url: str) -> Send:
    def send(request: Request) -> tuple[int, Any]:
        response = httpx.request(
            request.method,
            url + request.path,
            headers={**request.headers, REQUEST_ID: f"probe-{request.key}"},
            content=request.body or None,
            timeout=10,
        )
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    return send


def run_scenario(
    scenario: Scenario,
    engine: Engine,
    env: dict[str, str],
    options: argparse.Namespace,
    folder: Path,
    boards: Boards,
) -> Outcome:
    seconds = options.warmup + options.duration
    app_rate = scenario.seed_rate or options.seed_rate
    count = int(seconds * app_rate * 1.1)
    console.print(f"[bold]{scenario.name}[/]: seeding {count:,} requests …")
    started = time.perf_counter()
    with Session(engine) as session:
        seeded: Seeded = scenario.seed(
            session,
            SeedContext(env["LIANXIN_SECRET_KEY"], count, datetime.now(UTC), boards),
        )
        session.commit()
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")  # as autovacuum would after a day's inserts
    console.print(f"  seeded in {time.perf_counter() - started:.1f} s")

    round_seconds = options.duration / options.rounds
    spans = [options.warmup] + [round_seconds] * options.rounds
    work = scenario.baseline.work
    stack_side = Side("stack", f"Flask-SQLAlchemy: {work}")
    bare_side = Side("bare", f"bare psycopg: {work}")
    app_side = Side("app", scenario.endpoint)
    # Baselines get requests for 4× the app's expected rate, over the same seconds;
    # each its own keys, as both write the same tables.
    baseline_rate = options.seed_rate * 4
    baseline_count = int(seconds * baseline_rate * 1.1)
    plan = [
        (
            stack_side,
            servers.start_stack,
            scenario.baseline.requests(baseline_count, "stack"),
            baseline_rate,
        ),
        (
            bare_side,
            servers.start_baseline,
            scenario.baseline.requests(baseline_count, "bare"),
            baseline_rate,
        ),
    ]
    floor_side, floor_seeded = None, None
    if scenario.floor:
        # Its own participations (or whatever the scenario acts on), seeded like the app's.
        floor_side = Side("floor", scenario.floor)
        with Session(engine) as session:
            floor_seeded = scenario.seed(
                session,
                SeedContext(env["LIANXIN_SECRET_KEY"], count, datetime.now(UTC), boards),
            )
            session.commit()
        plan.append((floor_side, servers.start_floor, floor_seeded.requests, app_rate))
    plan.append((app_side, servers.start_app, seeded.requests, app_rate))
    sides: list[tuple[Side, list[list[Request]], servers.Server]] = []
    started_servers: list[servers.Server] = []
    try:
        for side, starter, requests, rate in plan:
            started_servers.append(starter(env, options.workers, folder))
            sides.append((side, chunks(requests, rate, spans), started_servers[-1]))
        console.print(
            f"  warm-up {options.warmup:g} s each, then {options.rounds} rounds of "
            f"{round_seconds:g} s, {', '.join(side.label for side, _, _ in sides)} in turn …"
        )
        common = {"connections": options.connections, "threads": options.wrk_threads}
        for turn in range(options.rounds + 1):
            for side, slices, server in sides:
                walked = walk(
                    server.url,
                    slices[turn],
                    seconds=spans[turn],
                    folder=folder,
                    label=f"{scenario.name}-{side.label}-{turn}",
                    **common,
                )
                if turn == 0:
                    side.warmup = walked
                else:
                    side.rounds.append(walked)
        app_side.problems += seeded.probe(send_over_http(started_servers[-1].url))
    finally:
        for server in started_servers:
            server.stop()
    for side, slices, server in sides:
        side.peak_rss_mib = server.memory.peak_mib
        side.workers_seen = len(server.memory.peaks_kib)
        sent = [request for chunk in slices for request in chunk]
        if side is app_side:
            done_query = seeded.done
        elif side is floor_side and floor_seeded is not None:
            done_query = floor_seeded.done
        else:
            done_query = scenario.baseline.done(side.label)
        with Session(engine) as session:
            done = done_query(session) if done_query else None
        side.problems = account(side.label, side.walks, done, sent) + side.problems
        if side is app_side:
            with Session(engine) as session:
                side.problems += seeded.verify(session)
        if side.problems:
            console.print(f"[red]  {side.label} log tail:[/]\n{server.log_tail(10)}")
    return Outcome(scenario, app=app_side, stack=stack_side, bare=bare_side, floor=floor_side)


def report(outcomes: list[Outcome], options: argparse.Namespace) -> Table:
    table = Table(
        title=f"Lianxin HTTP benchmark — {options.workers} gunicorn gthread workers × "
        f"{options.threads} threads, {options.connections} connections, "
        f"{options.rounds} × {options.duration / options.rounds:g} s per side",
    )
    columns = (
        "scenario",
        "endpoint",
        "req/s",
        "p50 ms",
        "p99 ms",
        "ratio vs stack (target)",
        "ratio vs bare psycopg",
        "RSS/worker",
        "ok",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:2] else "right")
    for outcome in outcomes:
        target = outcome.scenario.target
        for side in outcome.sides:
            vs_stack = vs_bare = ""
            if side is outcome.app:
                colour = "green" if target is None or outcome.ratio >= target else "red"
                goal = f" (≥ {target})" if target is not None else " (no target)"
                vs_stack = f"[{colour}]{outcome.ratio:.2f}[/]{goal}"
                vs_bare = f"{outcome.ratio_bare:.2f}"
            elif side is outcome.stack:
                vs_bare = f"{_ratio(outcome.stack, outcome.bare):.2f}"
            elif side is outcome.floor:
                vs_stack = f"{_ratio(side, outcome.stack):.2f} (the most)"
                vs_bare = f"{_ratio(side, outcome.bare):.2f}"
            table.add_row(
                outcome.scenario.name,
                side.endpoint,
                f"{side.rate:,.0f}",
                f"{side.p50_ms:.1f}",
                f"{side.p99_ms:.1f}",
                vs_stack,
                vs_bare,
                f"{side.peak_rss_mib:.0f} MiB",
                "[green]yes[/]" if not side.problems else "[bold red]INVALID[/]",
            )
    return table


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.partition(":")[2].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "python": platform.python_version(),
        "load_average": Path("/proc/loadavg").read_text().split()[:3],
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.http",
        description="Lianxin's HTTP endpoints beside bare Flask baselines, on PostgreSQL + Redis.",
    )
    parser.add_argument("--duration", type=float, default=15, help="measured seconds per side")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds per side")
    parser.add_argument(
        "--rounds", type=int, default=3, help="measured rounds per side, alternating"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--threads", type=int, default=4, help="gthread threads per worker")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--seed-rate",
        type=int,
        default=1200,
        help="the most app requests/s expected: seeds duration × this (baselines 4×)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LIANXIN_TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL admin URL; a database lianxin_bench_<random> is made and dropped",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("LIANXIN_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0",
    )
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    parser.add_argument("--json", type=Path, default=DEFAULT_RESULTS, help="write results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    require_wrk()
    chosen = [SCENARIOS[name] for name in options.only or SCENARIOS]
    before = machine()
    outcomes = []
    with (
        tempfile.TemporaryDirectory(prefix="lianxin-bench-http-") as tmp,
        bench_database(options.database_url) as database_url,
        redis_prefix(options.redis_url) as prefix,
    ):
        folder = Path(tmp)
        env = server_environment(
            database_url, options.redis_url, prefix, folder / "instance", options.threads
        )
        subprocess.run(
            [str(servers.LIANXIN), "db", "upgrade"], env=env, check=True, capture_output=True
        )
        engine = create_engine(make_url(database_url))
        with engine.begin() as connection:
            for statement in baseline.SCHEMA:
                connection.exec_driver_sql(statement)
        client = redis.Redis.from_url(options.redis_url)
        baseline.seed_board(client, prefix)
        boards = Boards(client, prefix, keep_periods=4)
        try:
            for scenario in chosen:
                outcomes.append(run_scenario(scenario, engine, env, options, folder, boards))
        finally:
            engine.dispose()
            client.close()

    console.print(report(outcomes, options))
    for outcome in outcomes:
        for problem in [p for side in outcome.sides for p in side.problems]:
            console.print(f"[bold red]INVALID {outcome.scenario.name}[/] {problem}")
    results = {
        "command": " ".join(
            [Path(sys.executable).name, "-m", "tests.bench.http", *(argv or sys.argv[1:])]
        ),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": before,
        "load_average_after": machine()["load_average"],
        "settings": {
            "workers": options.workers,
            "worker_class": "gthread",
            "threads": options.threads,
            "connections": options.connections,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "rounds": options.rounds,
            "wrk_threads": options.wrk_threads,
        },
        "scenarios": [
            {
                "name": o.scenario.name,
                "target": o.scenario.target,
                "ratio": round(o.ratio, 3),  # vs the stack baseline: what the target is of
                "ratio_vs_bare_psycopg": round(o.ratio_bare, 3),
                "valid": o.valid,
                "app": o.app.as_json(),
                "stack_baseline": o.stack.as_json(),
                "bare_psycopg_baseline": o.bare.as_json(),
                **(
                    {
                        "floor": o.floor.as_json(),
                        "floor_ratio": round(_ratio(o.floor, o.stack), 3),
                    }
                    if o.floor
                    else {}
                ),
            }
            for o in outcomes
        ],
    }
    options.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    console.print(f"results written to {options.json}")
    return 0 if all(o.valid for o in outcomes) else 1
