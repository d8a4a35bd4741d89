import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

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
