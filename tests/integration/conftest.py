from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Backend
from tests.integration.serving import Server, start_server


@pytest.fixture(autouse=True)
def _start_from_empty_tables(fresh_state: None) -> None:
    """Integration tests share the session's database; each starts from empty tables."""


@pytest.fixture
def serve(backend: Backend, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start `lianxin serve` on this backend: ``serve(workers, **environment)``."""
    servers: list[Server] = []

    def start(workers: int, **env: str) -> Server:
        server = start_server(backend.environ(**env), tmp_path, workers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
