"""Starting the app and the baseline under the same gunicorn config, and watching
their workers' memory while they serve."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.serving import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[3]
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
LIANXIN = Path(sys.executable).with_name("lianxin")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces or parentheses; the fields after it don't.
        parent = int(stat.rpartition(")")[2].split()[1])
        if parent == pid:
            found.append(int(entry.name))
    return found


def _peak_rss_kib(pid: int) -> int | None:
    """The kernel's high-water mark of the process's resident set (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class MemoryWatch:
    """Samples every worker of a gunicorn master: workers recycled by max_requests
    come and go, so each is read while it lives."""

    master: int
    interval: float = 0.5
    peaks_kib: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        for pid in _children(self.master):
            peak = _peak_rss_kib(pid)
            if peak is not None:
                self.peaks_kib[pid] = max(peak, self.peaks_kib.get(pid, 0))

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(self.interval):
                self.sample()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.sample()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def peak_mib(self) -> float:
        return max(self.peaks_kib.values(), default=0) / 1024


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    memory: MemoryWatch

    def stop(self) -> None:
        self.memory.stop()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start(name: str, command: list[str], env: dict[str, str], folder: Path, port: int) -> Server:
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path, MemoryWatch(process.pid))
    outcome = wait_ready(server.url, process)
    if outcome == "exited":
        raise RuntimeError(f"{name} server exited:\n{server.log_tail()}")
    if outcome == "slow":
        server.stop()
        raise RuntimeError(f"{name} server not ready in 60 s:\n{server.log_tail()}")
    server.memory.start()
    return server


def start_app(env: dict[str, str], workers: int, folder: Path) -> Server:
    """Lianxin as an operator runs it: ``lianxin serve`` (deploy/gunicorn.conf.py)."""
    port = free_port()
    command = [str(LIANXIN), "serve", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
    return start("app", command, env, folder, port)


def start_baseline(
    env: dict[str, str],
    workers: int,
    folder: Path,
    *,
    name: str = "baseline",
    factory: str = "create_app()",
) -> Server:
    """A baseline app of baseline.py (``factory``) under the very same gunicorn config,
    workers and worker class."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(GUNICORN_CONFIG),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        f"tests.bench.http.baseline:{factory}",
    ]
    return start(name, command, env, folder, port)


def start_stack(env: dict[str, str], workers: int, folder: Path) -> Server:
    """The stack baseline: Flask + Flask-SQLAlchemy + redis-py, as the app is configured."""
    return start_baseline(env, workers, folder, name="stack", factory="create_stack_app()")


def start_floor(env: dict[str, str], workers: int, folder: Path) -> Server:
    """The stack app again, its own server, for the floor routes: the stack baseline's
    server and pool stay as they are without them."""
    return start_baseline(env, workers, folder, name="floor", factory="create_stack_app()")
