"""Driving wrk: write a request list, walk it once with walk.lua, read the JSON it leaves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WALK_SCRIPT = Path(__file__).with_name("walk.lua")
UNIT_SEPARATOR = "\x1f"
REQUEST_ID = "X-Request-ID"


class WrkMissing(SystemExit):
    pass


@dataclass(frozen=True)
class Request:
    """One HTTP request of a run. ``key`` names what it acts on (a participation, a
    baseline row); it travels as X-Request-ID and comes back on the answer."""

    method: str
    path: str
    headers: dict[str, str]
    body: str
    key: str


@dataclass
class Walk:
    """What wrk saw of one walk over a request list."""

    responses: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    issued: int
    exhausted: bool
    statuses: dict[int, int]
    socket_errors: dict[str, int]
    ok_keys: list[str] = field(repr=False)

    @property
    def rate(self) -> float:
        return self.responses / self.seconds if self.seconds else 0.0

    @property
    def not_2xx(self) -> int:
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)

    @property
    def unanswered(self) -> int:
        """Sent but not answered when the run ended (in flight, or lost to a socket error)."""
        return max(self.issued - sum(self.statuses.values()), 0)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Walk:
        latency = data["latency_us"]
        errors = data["errors"]
        return cls(
            responses=int(data["responses"]),
            seconds=data["duration_us"] / 1e6,
            p50_ms=latency["p50"] / 1000,
            p90_ms=latency["p90"] / 1000,
            p99_ms=latency["p99"] / 1000,
            max_ms=latency["max"] / 1000,
            issued=int(data["issued"]),
            exhausted=bool(data["exhausted"]),
            statuses={int(status): int(count) for status, count in data["statuses"].items()},
            # wrk counts >= 400 answers as "status" errors; those are in statuses already.
            socket_errors={k: int(v) for k, v in errors.items() if k != "status" and v},
            ok_keys=list(data["ok_ids"]),
        )


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing(
            "wrk is not installed; the HTTP benchmark needs it as its load generator.\n"
            "  Debian/Ubuntu: sudo apt-get install -y wrk\n"
            "  macOS:         brew install wrk\n"
            "  source:        https://github.com/wg/wrk (make, then put wrk on PATH)"
        )
    return found


def write_requests(path: Path, requests: Sequence[Request]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for request in requests:
            headers = {**request.headers, REQUEST_ID: request.key}
            header_text = UNIT_SEPARATOR.join(f"{name}: {value}" for name, value in headers.items())
            fields = (request.method, request.path, header_text, request.body)
            if any(("\t" in text or "\n" in text) for text in fields):
                raise ValueError(f"request {request.key} has a tab or newline in it")
            out.write("\t".join(fields) + "\n")


def walk(
    url: str,
    requests: Sequence[Request],
    *,
    seconds: float,
    connections: int,
    threads: int,
    folder: Path,
    label: str,
) -> Walk:
    """Send ``requests`` in order for ``seconds`` over ``connections`` keep-alive
    connections; each is sent at most once."""
    wrk = require_wrk()
    threads = max(1, min(threads, connections))
    request_file = folder / f"{label}.requests"
    result_file = folder / f"{label}.json"
    write_requests(request_file, requests)
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(request_file),
        "BENCH_RESULT": str(result_file),
        "BENCH_THREADS": str(threads),
    }
    command = [
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={WALK_SCRIPT}",
        url,
    ]
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if finished.returncode != 0 or not result_file.exists():
        raise RuntimeError(
            f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}"
        )
    walked = Walk.from_json(json.loads(result_file.read_text()))
    request_file.unlink()
    return walked
