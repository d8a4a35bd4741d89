"""Checks run before serving, so bad configuration stops start-up with one clear line."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from service.config import ConfigError, Settings
from service.db import engine_options


def check_database(settings: Settings) -> None:
    """The database answers and has been migrated."""
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        settings.instance_path.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **engine_options(settings))
    try:
        with engine.connect() as connection:
            migrated = inspect(connection).has_table("alembic_version")
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", error) or error).strip().splitlines()[0]
        where = url.render_as_string(hide_password=True)
        raise ConfigError(f"cannot reach the database at {where}: {reason}") from None
    finally:
        engine.dispose()
    if not migrated:
        raise ConfigError("the database has no schema yet: run `lianxin db upgrade` first")
