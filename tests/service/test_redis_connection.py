from __future__ import annotations

import multiprocessing
import os
from multiprocessing.synchronize import Event
from pathlib import Path

from service.config import Settings
from service.redis_connection import start_embedded_redis


def _connect_and_write(
    instance: str, start: Event, out: multiprocessing.Queue[tuple[int, str]]
) -> None:
    start.wait()
    client = start_embedded_redis(Settings(instance_path=Path(instance)))
    client.set(f"written-by:{os.getpid()}", "1")
    out.put((os.getpid(), client.socket_file))
    # Stay connected until every process has written, as a worker would.
    client.blpop("release", timeout=10)


def test_processes_starting_together_share_one_embedded_server(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    out: multiprocessing.Queue[tuple[int, str]] = context.Queue()
    processes = [
        context.Process(target=_connect_and_write, args=(str(tmp_path), start, out))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    start.set()
    results = [out.get(timeout=30) for _ in processes]

    sockets = {socket for _, socket in results}
    assert len(sockets) == 1, f"each process started its own server: {sockets}"
    reader = start_embedded_redis(Settings(instance_path=tmp_path))
    for pid, _ in results:
        assert reader.get(f"written-by:{pid}") == b"1"
    reader.rpush("release", *["go"] * len(processes))
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
