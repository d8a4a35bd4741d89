"""Races for tests: many threads doing their part at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

Worker = Callable[[int, Callable[[], None]], T]


def all_at_once(count: int, worker: Worker[T], timeout: float = 120) -> list[T]:
    """Run ``worker(index, go)`` in ``count`` threads and answer their results in index
    order. Each gets ready (a client, an app context), then calls ``go()``, which
    returns in every thread at the same instant, and races. An error in a thread is
    raised here, so a race that crashed can't pass as one nobody won."""
    barrier = threading.Barrier(count)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def go() -> None:
        barrier.wait(timeout)

    def run(index: int) -> None:
        try:
            results[index] = worker(index, go)
        except BaseException as error:
            errors.append(error)
            barrier.abort()  # the others would otherwise wait for this one until timeout

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if alive := sum(thread.is_alive() for thread in threads):
        raise AssertionError(f"{alive} of {count} racers still running after {timeout} s")
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]
