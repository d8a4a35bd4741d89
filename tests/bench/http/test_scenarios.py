"""The HTTP benchmark's scenarios send requests that work: seeded data, tokens and
bodies give a 2xx for every request, once, and the database then shows exactly
those requests done; the stack and bare baselines do the same (the timing itself is
not tested).

These test the harness, so they live with it, outside the default suite: `make
test-bench` runs them (and .ci/run, on both backends).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api import extensions
from service.db import engine_options, utcnow
from service.leaderboards.boards import Boards
from service.models import Base
from tests.bench.http import baseline
from tests.bench.http.load import REQUEST_ID, Request
from tests.bench.http.scenarios import SCENARIOS, SeedContext, Seeded, Send
from tests.conftest import Backend

COUNT = 10

# What sending a request a second time gets: writes are refused (or, with an
# Idempotency-Key, answered again from the first time) and change nothing more.
REPEATED = {
    "checkin": 409,
    "approve": 409,
    "redeem": 201,
    "refresh": 401,
    "leaderboard": 200,
    "unread": 200,
}


@pytest.fixture(autouse=True)
def _start_from_empty_tables(fresh_state: None) -> None:
    """Scenarios share the session's database; each starts from empty tables."""


def send(app: Flask, request: Request) -> tuple[int, str | None]:
    response = app.test_client().open(
        request.path,
        method=request.method,
        headers={**request.headers, REQUEST_ID: request.key},
        data=request.body or None,
    )
    return response.status_code, response.headers.get(REQUEST_ID)


def sender(app: Flask) -> Send:
    def send_for_answer(request: Request) -> tuple[int, Any]:
        response = app.test_client().open(
            request.path, method=request.method, headers=request.headers, data=request.body or None
        )
        return response.status_code, response.get_json(silent=True)

    return send_for_answer


def test_every_scenario_is_complete() -> None:
    assert set(REPEATED) == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_seeded_request_succeeds_once(app: Flask, name: str) -> None:
    scenario = SCENARIOS[name]
    with app.app_context():
        session = extensions.session()
        seeded: Seeded = scenario.seed(
            session,
            SeedContext(
                extensions.settings().secret_key, COUNT, utcnow(), extensions.leaderboards()
            ),
        )
        session.commit()
    assert len(seeded.requests) == COUNT
    assert len({r.key for r in seeded.requests}) == COUNT  # never the same object twice

    answers = [send(app, request) for request in seeded.requests]

    assert all(200 <= status < 300 for status, _ in answers), answers
    # The key comes back as X-Request-ID: it is how the harness matches answers.
    assert [echoed for _, echoed in answers] == [r.key for r in seeded.requests]
    with app.app_context():
        session = extensions.session()
        done = seeded.done(session) if seeded.done else None
        if seeded.done is not None:
            assert done == {r.key for r in seeded.requests}
        assert seeded.verify(session) == []
    assert seeded.probe(sender(app)) == []

    assert send(app, seeded.requests[0])[0] == REPEATED[name]
    with app.app_context():
        if seeded.done is not None:
            assert seeded.done(extensions.session()) == done


@pytest.fixture
def baseline_database(
    backend: Backend, scratch_database: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    engine = create_engine(scratch_database)
    with engine.begin() as connection:
        for statement in baseline.SCHEMA:
            connection.exec_driver_sql(statement)
    engine.dispose()
    plain = make_url(scratch_database).set(drivername="postgresql")
    monkeypatch.setenv("BENCH_DATABASE_URL", plain.render_as_string(hide_password=False))
    monkeypatch.setenv("LIANXIN_REDIS_URL", backend.redis_url or "")
    monkeypatch.setenv("LIANXIN_REDIS_PREFIX", backend.redis_prefix)
    return scratch_database


def _forget_boards(backend: Backend, app: Flask) -> None:
    board = app.extensions[baseline.BOARD]
    board.delete(
        baseline.credits_key(backend.redis_prefix), baseline.board_key(backend.redis_prefix)
    )
    board.close()


@pytest.fixture
def bare_app(backend: Backend, baseline_database: str) -> Iterator[Flask]:
    app = baseline.create_app()
    baseline.seed_board(app.extensions[baseline.BOARD], backend.redis_prefix)
    yield app
    app.extensions[baseline.POOL].close()
    _forget_boards(backend, app)


@pytest.fixture
def stack_app(backend: Backend, baseline_database: str) -> Iterator[Flask]:
    app = baseline.create_stack_app(backend.settings(database_url=baseline_database))
    baseline.seed_board(app.extensions[baseline.BOARD], backend.redis_prefix)
    yield app
    with app.app_context():
        app.extensions[baseline.DB].engine.dispose()
    _forget_boards(backend, app)


def _request_keys(database_url: str, table: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return set(session.scalars(text(f"SELECT request_key FROM {table}")))  # noqa: S608
    finally:
        engine.dispose()


def _check_baseline(app: Flask, database_url: str, name: str, side: str) -> None:
    scenario = SCENARIOS[name]
    requests = scenario.baseline.requests(COUNT, side)

    answers = [send(app, request) for request in requests]

    assert [status for status, _ in answers] == [201 if name == "redeem" else 200] * COUNT
    assert [echoed for _, echoed in answers] == [r.key for r in requests]
    if scenario.baseline.table is not None:
        assert _request_keys(database_url, scenario.baseline.table) == {r.key for r in requests}
        done = scenario.baseline.done(side)
        assert done is not None
        engine = create_engine(database_url)
        with Session(engine) as session:
            assert done(session) == {r.key for r in requests}
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_bare_baseline_request_succeeds_once(
    bare_app: Flask, baseline_database: str, name: str
) -> None:
    _check_baseline(bare_app, baseline_database, name, "bare")


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_stack_baseline_request_succeeds_once(
    stack_app: Flask, baseline_database: str, name: str
) -> None:
    _check_baseline(stack_app, baseline_database, name, "stack")


@pytest.mark.postgres
def test_the_leaderboard_baselines_read_the_whole_board(bare_app: Flask, stack_app: Flask) -> None:
    request = SCENARIOS["leaderboard"].baseline.requests(1, "stack")[0]
    for app in (bare_app, stack_app):
        answer = app.test_client().get(request.path, headers=request.headers).get_json()
        assert len(answer["items"]) == baseline.BOARD_LIMIT
        assert answer["me"]["score"] == baseline.board_score(0)
        assert len(answer["around"]) >= baseline.BOARD_AROUND


@pytest.mark.postgres
def test_the_stack_baseline_uses_the_apps_engine_options(
    stack_app: Flask, backend: Backend
) -> None:
    settings = backend.settings()
    assert stack_app.config["SQLALCHEMY_ENGINE_OPTIONS"] == engine_options(settings)
    with stack_app.app_context():
        engine = stack_app.extensions[baseline.DB].engine
        assert engine.pool.size() == settings.db_pool_size
        assert engine.dialect.driver == "psycopg"


@pytest.mark.postgres
def test_the_checkin_floor_checks_in_each_seeded_participation(
    stack_app: Flask, baseline_database: str, backend: Backend
) -> None:
    engine = create_engine(baseline_database)
    Base.metadata.create_all(engine)
    scenario = SCENARIOS["checkin"]
    assert scenario.floor
    secret_key = backend.settings(database_url=baseline_database).secret_key
    boards = Boards(stack_app.extensions[baseline.BOARD], backend.redis_prefix, keep_periods=4)
    with Session(engine) as session:
        seeded = scenario.seed(session, SeedContext(secret_key, COUNT, utcnow(), boards))
        session.commit()

    answers = [send(stack_app, request) for request in seeded.requests]

    assert [status for status, _ in answers] == [200] * COUNT
    assert seeded.done is not None
    with Session(engine) as session:
        assert seeded.done(session) == {r.key for r in seeded.requests}
    engine.dispose()
