"""The HTTP benchmark's scenarios send requests that work: seeded data, tokens and
bodies give a 2xx for every request, once, and the database then shows exactly
those requests done (tests/bench/http; the timing itself is not tested)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from api import extensions
from service.db import utcnow
from tests.bench.http import baseline
from tests.bench.http.load import REQUEST_ID, Request
from tests.bench.http.scenarios import SCENARIOS, SeedContext, Seeded
from tests.conftest import Backend

COUNT = 10


def send(app: Flask, request: Request) -> tuple[int, str | None]:
    response = app.test_client().open(
        request.path,
        method=request.method,
        headers={**request.headers, REQUEST_ID: request.key},
        data=request.body or None,
    )
    return response.status_code, response.headers.get(REQUEST_ID)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_seeded_request_succeeds_once(app: Flask, name: str) -> None:
    scenario = SCENARIOS[name]
    with app.app_context():
        session = extensions.session()
        seeded: Seeded = scenario.seed(
            session, SeedContext(extensions.settings().secret_key, COUNT, utcnow())
        )
        session.commit()
    assert len(seeded.requests) == COUNT
    assert len({r.key for r in seeded.requests}) == COUNT  # never the same object twice

    answers = [send(app, request) for request in seeded.requests]

    assert [status for status, _ in answers] == [200] * COUNT
    # The key comes back as X-Request-ID: it is how the harness matches answers.
    assert [echoed for _, echoed in answers] == [r.key for r in seeded.requests]
    with app.app_context():
        session = extensions.session()
        assert seeded.done(session) == {r.key for r in seeded.requests}
        assert seeded.verify(session) == []
    # A second time each is refused: the request list must never repeat one.
    assert send(app, seeded.requests[0])[0] == 409


@pytest.fixture
def baseline_app(
    backend: Backend, scratch_database: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    engine = create_engine(scratch_database)
    with engine.begin() as connection:
        for statement in baseline.SCHEMA:
            connection.exec_driver_sql(statement)
    engine.dispose()
    plain = make_url(scratch_database).set(drivername="postgresql")
    monkeypatch.setenv("BENCH_DATABASE_URL", plain.render_as_string(hide_password=False))
    monkeypatch.setenv("LIANXIN_REDIS_URL", backend.redis_url or "")
    monkeypatch.setenv("LIANXIN_REDIS_PREFIX", backend.redis_prefix)
    app = baseline.create_app()
    yield app
    app.extensions[baseline.POOL].close()
    board = app.extensions[baseline.BOARD]
    board.delete(f"{backend.redis_prefix}bench:board")
    board.close()


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_baseline_request_succeeds_once(baseline_app: Flask, name: str) -> None:
    scenario = SCENARIOS[name]
    requests = scenario.baseline.requests(COUNT)

    answers = [send(baseline_app, request) for request in requests]

    assert answers == [(200, r.key) for r in requests]
    with baseline_app.extensions[baseline.POOL].connection() as connection:
        keys = {
            row[0]
            for row in connection.execute(
                f"SELECT request_key FROM {scenario.baseline.table}"  # noqa: S608
            )
        }
    assert keys == {r.key for r in requests}
