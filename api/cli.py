"""The ``lianxin`` command: a Flask CLI group around ``create_app``.

``lianxin db upgrade`` (Flask-Migrate), ``lianxin demo seed [--json]``,
``lianxin serve``. Configuration errors end a command with one line, not a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
import redis
from flask.cli import AppGroup, FlaskGroup
from flask_migrate.cli import db as db_commands
from sqlalchemy.exc import ArgumentError, OperationalError

from api import extensions
from api.admin_cli import admin
from api.app import create_app
from api.awards import awards
from api.demands_cli import demands
from api.idempotency_cli import idempotency
from api.import_cli import import_group
from api.leaderboard_cli import leaderboard
from api.ledger_cli import ledger
from api.notifications_cli import notifications
from api.outbox_cli import outbox, worker_command
from api.people_cli import people
from api.points_cli import points
from api.redemptions_cli import redemptions
from api.reports_cli import report
from api.tasks_cli import tasks
from api.uploads_cli import uploads
from service.config import ConfigError, Environment, Settings
from service.demo.cast import DEMO_CONSOLE_PASSWORD
from service.demo.world import seed_demo_world
from service.startup import check_database

DEFAULT_GUNICORN_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__


class LianxinGroup(FlaskGroup):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise click.ClickException(f"configuration: {error}") from None
        except (OperationalError, ArgumentError) as error:
            raise click.ClickException(f"database: {_first_line(error)}") from None
        except redis.ConnectionError as error:
            raise click.ClickException(f"redis: {_first_line(error)}") from None


@click.group(cls=LianxinGroup, create_app=create_app, add_version_option=False)
def cli() -> None:
    """Lianxin 连心: community volunteering points service."""


cli.add_command(db_commands)
cli.add_command(admin)
cli.add_command(import_group)
cli.add_command(ledger)
cli.add_command(points)
cli.add_command(awards)
cli.add_command(redemptions)
cli.add_command(uploads)
cli.add_command(idempotency)
cli.add_command(leaderboard)
cli.add_command(worker_command)
cli.add_command(outbox)
cli.add_command(demands)
cli.add_command(notifications)
cli.add_command(report)
cli.add_command(tasks)
cli.add_command(people)


@cli.command("serve", with_appcontext=False)
@click.option("--bind", envvar="LIANXIN_BIND", default="127.0.0.1:8000", show_default=True)
@click.option(
    "--workers",
    envvar="LIANXIN_WORKERS",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes [default: from the CPU count]",
)
@click.option(
    "--config",
    "config_path",
    envvar="LIANXIN_GUNICORN_CONFIG",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_GUNICORN_CONFIG,
)
def serve(bind: str, workers: int | None, config_path: Path) -> None:
    """Serve the API with gunicorn (deploy/gunicorn.conf.py)."""
    settings = Settings.from_env()
    settings.validate()
    check_database(settings)
    if not config_path.is_file():
        raise click.ClickException(f"gunicorn config not found at {config_path}")
    # Workers are separate processes: prometheus_client adds up their counters
    # through files in this folder (the gunicorn config empties it at start).
    metrics_dir = Path(
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", str(settings.instance_path / "prometheus")
        )
    )
    metrics_dir.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "gunicorn", "--config", str(config_path), "--bind", bind]
    if workers is not None:
        args += ["--workers", str(workers)]
    click.echo(f"Lianxin: serving on http://{bind}  (API docs: http://{bind}/api/docs)")
    sys.stdout.flush()
    os.execv(sys.executable, args)  # noqa: S606 - gunicorn replaces this process


demo = AppGroup("demo", help="The demo world for trying Lianxin out.")
cli.add_command(demo)


@demo.command("seed")
@click.option("--json", "as_json", is_flag=True, help="Print what exists as JSON.")
def demo_seed(as_json: bool) -> None:
    """Create the demo street, communities, grids and people (idempotent)."""
    if extensions.settings().env is Environment.PRODUCTION:
        # Its people sign in with a code anyone can guess and a password in the README.
        raise click.ClickException("the demo world is never seeded in production")
    world = seed_demo_world(extensions.unit_of_work(), extensions.settings().service_levels)
    if as_json:
        click.echo(json.dumps(world.as_json(), ensure_ascii=False, indent=2))
        return
    click.echo(
        f"Demo world ready: {len(world.places)} places, {len(world.branches)} party branches, "
        f"{len(world.users)} people."
    )
    click.echo("Demo people (fake WeChat mode: the sign-in code is the openid):")
    for user in world.users:
        roles = ", ".join(f"{r['role']}@{r['scope_type']}:{r['scope_id']}" for r in user["roles"])
        click.echo(f"  {user['openid']:<18} {user['name']:<6} {roles}")
    consoled = ", ".join(user["username"] for user in world.users if user["username"])
    click.echo(f"Console (/console): {consoled}, each with the password {DEMO_CONSOLE_PASSWORD}")
    click.echo(
        "Sign in as one: curl -X POST http://127.0.0.1:8000/api/v1/auth/wechat "
        "-H 'Content-Type: application/json' -d '{\"code\": \"demo-staff-1\"}'"
    )


def main() -> None:
    cli.main(prog_name="lianxin")
