import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import Connection, inspect, text

from service.models import Base
from tests.conftest import AppFactory


def test_the_migrations_build_exactly_the_models(app: Flask) -> None:
    with app.app_context(), app.extensions["sqlalchemy"].engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_go_down_to_nothing_and_up_again(
    make_app: AppFactory, scratch_database: str
) -> None:
    app = make_app(database_url=scratch_database)
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        flask_migrate.upgrade()
        assert {"place", "app_user", "role_grant"} <= set(inspect(engine).get_table_names())
        flask_migrate.downgrade(revision="base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        flask_migrate.upgrade()
        assert {"place", "app_user", "role_grant"} <= set(inspect(engine).get_table_names())


def test_upgrading_keeps_the_rows_already_there(
    make_app: AppFactory, scratch_database: str
) -> None:
    """Upgrades run on live data; on SQLite a table rebuild must not cascade into
    the rows that reference it."""
    app = make_app(database_url=scratch_database)
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        flask_migrate.upgrade(revision="0001")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO place (id, parent_id, name, level, path, created_at) "
                    "VALUES (1, NULL, '街道', 'street', '/1/', CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO app_user (id, openid, name, residence_place_id, created_at) "
                    "VALUES (1, 'o-1', '王芳', 1, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO role_grant (user_id, role, scope_type, scope_id, granted_at) "
                    "VALUES (1, 'staff', 'org', 1, CURRENT_TIMESTAMP)"
                )
            )
        flask_migrate.upgrade()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM role_grant")).scalar() == 1
            user = connection.execute(
                text("SELECT name, token_version, failed_logins, active FROM app_user")
            ).one()
        assert tuple(user) == ("王芳", 0, 0, True)


def _ledger_triggers(connection: Connection) -> set[tuple[str, str]]:
    """(table, trigger) of every user trigger: the ledger's append-only guards."""
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text(
                "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                "WHERE NOT tgisinternal AND tgenabled <> 'D'"
            )
        )
    else:
        rows = connection.execute(
            text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        )
    return {(table, name) for table, name in rows}


def test_the_ledger_is_append_only_at_head(app: Flask) -> None:
    """Guards a later migration too: on SQLite, rebuilding one of these tables in batch
    mode drops its triggers, and that migration must create them again."""
    with app.app_context(), app.extensions["sqlalchemy"].engine.connect() as connection:
        tables = {table for table, _ in _ledger_triggers(connection)}
    assert tables == {"ledger_transfer", "point_lot_use"}


def test_the_append_only_guard_goes_down_and_up_again(
    make_app: AppFactory, scratch_database: str
) -> None:
    app = make_app(database_url=scratch_database)
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        flask_migrate.upgrade()
        with engine.connect() as connection:
            guards = _ledger_triggers(connection)
        assert len(guards) == (2 if engine.dialect.name == "postgresql" else 4)
        flask_migrate.downgrade(revision="0015")
        with engine.connect() as connection:
            assert _ledger_triggers(connection) == set()
        flask_migrate.upgrade()
        with engine.connect() as connection:
            assert _ledger_triggers(connection) == guards


def test_going_back_before_the_new_place_levels_refuses_while_places_use_them(
    make_app: AppFactory, scratch_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(database_url=scratch_database)
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        # Just after the levels came: going back over later migrations too would end
        # at a revision that differs by backend (PostgreSQL's DDL rolls back with the
        # refusal, SQLite's does not).
        flask_migrate.upgrade(revision="0018")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO place (id, parent_id, name, level, path, created_at) "
                    "VALUES (1, NULL, '阳光小区', 'estate', '/1/', CURRENT_TIMESTAMP)"
                )
            )
        with pytest.raises(SystemExit):  # as `lianxin db downgrade` ends, naming why
            flask_migrate.downgrade(revision="0017")
        assert "1 place(s) are at a level 0017 does not know" in caplog.text
        with engine.connect() as connection:
            assert connection.execute(text("SELECT level FROM place")).scalar() == "estate"
            revision = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert revision.scalar() == "0018"


def test_audit_entries_written_before_0019_get_the_place_they_would_have_had(
    make_app: AppFactory, scratch_database: str
) -> None:
    app = make_app(database_url=scratch_database)
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        flask_migrate.upgrade(revision="0018")
        with engine.begin() as connection:
            for statement in (
                "INSERT INTO place (id, parent_id, name, level, path, created_at) "
                "VALUES (1, NULL, '街道', 'street', '/1/', CURRENT_TIMESTAMP)",
                "INSERT INTO place (id, parent_id, name, level, path, created_at) "
                "VALUES (2, 1, '社区', 'community', '/1/2/', CURRENT_TIMESTAMP)",
                "INSERT INTO app_user (id, name, residence_place_id, created_at) "
                "VALUES (1, '王芳', 2, CURRENT_TIMESTAMP)",
                "INSERT INTO rule_set (id, place_id, version, status, effective_from, content, "
                "note, created_at) VALUES (7, 1, 1, 'draft', '2026-01-01', '{}', '', "
                "CURRENT_TIMESTAMP)",
                "INSERT INTO audit_entry (actor_id, action, object_type, object_id, at) "
                "VALUES (1, 'rule_set.draft', 'rule_set', 7, CURRENT_TIMESTAMP)",
                "INSERT INTO audit_entry (actor_id, action, object_type, object_id, at) "
                "VALUES (1, 'person.leaderboard_ban', 'user', 1, CURRENT_TIMESTAMP)",
            ):
                connection.execute(text(statement))
        flask_migrate.upgrade()
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT action, place_id, request_id FROM audit_entry ORDER BY id")
            ).all()
        assert [tuple(row) for row in rows] == [
            ("rule_set.draft", 1, None),
            ("person.leaderboard_ban", 2, None),
        ]
