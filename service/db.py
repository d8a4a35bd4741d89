"""The declarative base, shared column types, and engine settings per backend."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    DateTime,
    Engine,
    MetaData,
    Result,
    and_,
    event,
    or_,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from service.config import Settings

# Stable constraint names, so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite stores no offset and returns naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rows_changed(result: Result[Any]) -> int:
    """How many rows a conditional UPDATE or DELETE touched: the check that makes
    "UPDATE … WHERE <precondition>" safe under concurrency."""
    return cast(CursorResult[Any], result).rowcount


def utcnow() -> datetime:
    return datetime.now(UTC)


def engine_options(settings: Settings) -> dict[str, Any]:
    """Options for ``create_engine``: short connect timeouts so a dead database
    fails a request (or start-up) quickly instead of hanging a worker."""
    if settings.is_sqlite:
        # One SQLite file is shared by threads and worker processes; the timeout is
        # how long a writer waits for another's lock before giving up.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {
        "pool_pre_ping": True,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size,
        "pool_recycle": 1800,
        "connect_args": {"connect_timeout": 5, "application_name": "lianxin"},
    }


# Execution option: on SQLite, begin the transaction holding the database's write lock.
WRITE_LOCK = "lianxin_write_lock"
_CHANGES_AT_BEGIN = "lianxin.sqlite_changes_at_begin"


def _sqlite_changes(connection: Connection) -> int:
    changes: int = connection.connection.dbapi_connection.total_changes  # type: ignore[union-attr]
    return changes


def sqlite_transaction_wrote(connection: Connection) -> bool:
    """Whether the SQLite transaction open on ``connection`` has changed any row."""
    return _sqlite_changes(connection) != connection.info.get(_CHANGES_AT_BEGIN)


def configure_engine(engine: Engine) -> None:
    """Per-connection setup that engine options can't express."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT and lets SELECTs run
        # outside a transaction; hand transaction control to SQLAlchemy instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Any) -> None:
        # A deferred transaction that read and then writes gets SQLITE_BUSY at once if
        # another writer committed in between (its WAL snapshot is stale), and no busy
        # timeout helps; one that takes the write lock first waits its turn instead.
        # Reads stay deferred, so they never wait for writers.
        wants_lock = connection.get_execution_options().get(WRITE_LOCK, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if wants_lock else "BEGIN")
        connection.info[_CHANGES_AT_BEGIN] = _sqlite_changes(connection)


def commit_each_statement(session: Session) -> None:
    """Let each of the session's statements, until its transaction ends, commit on its
    own (PostgreSQL; SQLite keeps its transaction).

    For a use case whose only write is one conditional statement that re-checks what it
    read (check-in): under READ COMMITTED a transaction around the read and the write
    would guarantee nothing more, and costs two round trips, BEGIN and COMMIT. Call it
    before the session's first statement. The connection goes back to the pool in its
    usual mode. SQLite is left alone: its driver's autocommit switch would undo the
    transaction control ``configure_engine`` sets up.
    """
    if session.in_transaction():
        raise RuntimeError("commit_each_statement must come before the first statement")
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def runs_on(started_on: Any, ended_on: Any, day: date) -> ColumnElement[bool]:
    """Whether something dated at both ends (a pairing) runs on a local day: both days
    count, so one recorded ahead of its first day, or ended on a day still to come (a
    term's last day), serves on exactly the days it names; no end, open-ended."""
    return and_(started_on <= day, or_(ended_on.is_(None), ended_on >= day))
