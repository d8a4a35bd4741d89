"""Fixtures for every suite.

The suite runs on the embedded backends (SQLite + embedded Redis) by default, and
on PostgreSQL + Redis when LIANXIN_TEST_DATABASE_URL / LIANXIN_TEST_REDIS_URL are
set. Each run gets its own database and Redis key prefix, so runs in parallel
don't collide; each test starts from empty tables and no keys.

With LIANXIN_TEST_CLOCK_AHEAD_DAYS=N the whole suite, and every process it starts,
runs with the clock N days ahead (`make test-clock-ahead`): no test may depend on the
day it was written.
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api import create_app, extensions
from service.config import Environment, Settings
from service.models import Base
from service.unit_of_work import UnitOfWork
from tests.wechat_stub import WechatStub

CLOCK_AHEAD = "LIANXIN_TEST_CLOCK_AHEAD_DAYS"
_CLOCK_AHEAD_SITE = Path(__file__).with_name("clock_ahead")


def pytest_configure(config: pytest.Config) -> None:
    days = os.environ.get(CLOCK_AHEAD)
    if not days:
        return
    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=int(days)), tick=True).start()
    time.time()  # starts the moved clock ticking now (see tests/clock_ahead/sitecustomize.py)
    # Processes the suite starts move their clocks too (tests/clock_ahead/sitecustomize.py).
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(_CLOCK_AHEAD_SITE), *filter(None, [os.environ.get("PYTHONPATH")])]
    )


@dataclass(frozen=True)
class Backend:
    name: str  # "embedded" or "postgresql"
    instance_path: Path
    database_url: str | None
    redis_url: str | None
    redis_prefix: str

    def settings(self, **overrides: object) -> Settings:
        base = Settings(
            env=Environment.TEST,
            instance_path=self.instance_path,
            database_url=self.database_url,
            redis_url=self.redis_url,
            redis_prefix=self.redis_prefix,
            rate_limit="",
            sign_in_rate_limit="",
            sign_in_identity_rate_limit="",
        )
        return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]

    def environ(self, **overrides: str) -> dict[str, str]:
        """An environment for running `lianxin` in a subprocess against this backend."""
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_") or k == CLOCK_AHEAD
        }
        env.update(
            LIANXIN_ENV="test",
            LIANXIN_INSTANCE_PATH=str(self.instance_path),
            LIANXIN_REDIS_PREFIX=self.redis_prefix,
            LIANXIN_RATE_LIMIT="",
            LIANXIN_SIGN_IN_RATE_LIMIT="",
            LIANXIN_SIGN_IN_IDENTITY_RATE_LIMIT="",
        )
        if self.database_url:
            env["LIANXIN_DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["LIANXIN_REDIS_URL"] = self.redis_url
        env.update(overrides)
        return env


def _create_database(admin_url: str) -> tuple[str, str]:
    url = make_url(admin_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"lianxin_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        raise pytest.UsageError(
            f"LIANXIN_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {error}"
        ) from error
    finally:
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_database(admin_url: str, name: str) -> None:
    url = make_url(admin_url).set(drivername="postgresql+psycopg")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    admin_url = os.environ.get("LIANXIN_TEST_DATABASE_URL")
    redis_url = os.environ.get("LIANXIN_TEST_REDIS_URL")
    database_url, database_name = _create_database(admin_url) if admin_url else (None, None)
    if redis_url:
        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
        except redis.RedisError as error:
            raise pytest.UsageError(
                f"LIANXIN_TEST_REDIS_URL is set but Redis is unreachable: {error}"
            ) from error
    prefix = f"lxtest:{uuid.uuid4().hex[:10]}:"
    yield Backend(
        name="postgresql" if admin_url else "embedded",
        instance_path=tmp_path_factory.mktemp("instance"),
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=prefix,
    )
    if admin_url and database_name:
        _drop_database(admin_url, database_name)
    if redis_url:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def close_app(app: Flask) -> None:
    """Release the app's pools (an app lives as long as its process otherwise)."""
    with app.app_context():
        extensions.wechat().close()
        extensions.redis_client().connection_pool.disconnect()
        app.extensions["sqlalchemy"].engine.dispose()
        extensions.reports_engine().dispose()


@pytest.fixture(scope="session")
def app(backend: Backend) -> Iterator[Flask]:
    app = create_app(backend.settings())
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    close_app(app)


class AppFactory:
    """Builds apps with changed settings for one test and closes them afterwards."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.apps: list[Flask] = []

    def __call__(self, **overrides: object) -> Flask:
        app = create_app(self.backend.settings(**overrides))
        self.apps.append(app)
        return app

    def close(self) -> None:
        for app in self.apps:
            close_app(app)


@pytest.fixture
def make_app(backend: Backend) -> Iterator[AppFactory]:
    factory = AppFactory(backend)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def module_app_factory(backend: Backend) -> Iterator[AppFactory]:
    factory = AppFactory(backend)
    yield factory
    factory.close()


# Rows the migrations seed and the app needs (the currencies) stay put.
REFERENCE_TABLES = frozenset({"currency"})


def empty_tables(app: Flask) -> None:
    with app.app_context():
        session = extensions.session()
        with _append_only_lifted(session):
            for table in reversed(Base.metadata.sorted_tables):
                if table.name not in REFERENCE_TABLES:
                    session.execute(delete(table))
        session.commit()


@contextmanager
def _append_only_lifted(session: Session) -> Iterator[None]:
    """The ledger's tables refuse UPDATE and DELETE in the database (migration 0017),
    with no switch the app could flip. Only their owner's DDL lifts that, and the wipe
    between tests uses it, in its own transaction: the triggers are back before it
    commits, so no other connection ever sees them gone. Tables with no rows keep
    their triggers (deleting nothing fires none)."""
    connection = session.connection()

    def holds_rows(table: str) -> bool:
        # The table names come from the database's own catalog.
        query = f"SELECT 1 FROM {table} LIMIT 1"  # noqa: S608
        return connection.exec_driver_sql(query).first() is not None

    if connection.dialect.name == "postgresql":
        found = connection.exec_driver_sql(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
        ).scalars()
        tables = [table for table in found if holds_rows(table)]
        for table in tables:
            connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        yield
        for table in tables:
            connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        return
    triggers = [
        (name, sql)
        for name, table, sql in connection.exec_driver_sql(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).all()
        if holds_rows(table)
    ]
    for name, _ in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for _, sql in triggers:
        connection.exec_driver_sql(sql)


def _clean(app: Flask, backend: Backend) -> None:
    empty_tables(app)
    with app.app_context():
        client = extensions.redis_client()
        keys = list(client.scan_iter(match=f"{backend.redis_prefix}*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def fresh_state(app: Flask, backend: Backend) -> None:
    """Empty tables and no Redis keys of this run, before the test."""
    _clean(app, backend)


@pytest.fixture
def client(app: Flask, fresh_state: None) -> FlaskClient:
    return app.test_client()


def signed_in_headers(client: FlaskClient, openid: str) -> dict[str, str]:
    """Sign in through the API in fake WeChat mode (the code is the openid)."""
    response = client.post("/api/v1/auth/wechat", json={"code": openid})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


@pytest.fixture
def runner(app: Flask, fresh_state: None) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def uow(app: Flask, fresh_state: None) -> Iterator[UnitOfWork]:
    """A unit of work inside an app context, as a request would have."""
    with app.app_context():
        yield extensions.unit_of_work()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # PostgreSQL-only tests (real concurrency) are deselected, not skipped, on SQLite.
    if os.environ.get("LIANXIN_TEST_DATABASE_URL"):
        return
    selected = [item for item in items if "postgres" not in item.keywords]
    deselected = [item for item in items if "postgres" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def pytest_report_header(config: pytest.Config) -> str:
    db = "PostgreSQL" if os.environ.get("LIANXIN_TEST_DATABASE_URL") else "SQLite"
    cache = "Redis server" if os.environ.get("LIANXIN_TEST_REDIS_URL") else "embedded Redis"
    ahead = os.environ.get(CLOCK_AHEAD)
    clock = f"; clock {ahead} days ahead" if ahead else ""
    return f"lianxin backends: {db} + {cache}{clock}"


@pytest.fixture
def scratch_database(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """An empty database of the run's kind, for tests that must not touch the shared one."""
    admin_url = os.environ.get("LIANXIN_TEST_DATABASE_URL")
    if not admin_url:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    url, name = _create_database(admin_url)
    yield url
    _drop_database(admin_url, name)


@pytest.fixture(scope="session")
def wechat_stub() -> Iterator[WechatStub]:
    """A real local HTTP server standing in for the WeChat API."""
    with WechatStub() as stub:
        yield stub


@pytest.fixture
def stub(wechat_stub: WechatStub) -> WechatStub:
    wechat_stub.reset()
    return wechat_stub
