"""`lianxin serve` started for a test: gunicorn with several workers on a free port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

LIANXIN = str(Path(sys.executable).with_name("lianxin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> list[dict[str, object]]:
        """Stop gracefully and return the JSON log lines."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        lines = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines


def start_server(environ: dict[str, str], log_dir: Path, workers: int) -> Server:
    port = free_port()
    log_path = log_dir / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [LIANXIN, "serve", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"],
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    outcome = wait_ready(server.url, process)
    if outcome == "exited":
        raise AssertionError(log_path.read_text())
    if outcome == "slow":
        server.stop()
        raise AssertionError(f"server not ready in 60 s:\n{log_path.read_text()}")
    return server


def wait_ready(
    url: str, process: subprocess.Popen[bytes], seconds: float = 60
) -> Literal["ready", "exited", "slow"]:
    """Wait until ``url``/readyz answers 200; "exited" if the process ended first, "slow"
    if ``seconds`` passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return "exited"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return "ready"
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return "slow"
