"""`lianxin idempotency purge`: forget stored responses to old Idempotency-Keys."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from api import extensions
from service.db import utcnow
from service.idempotency.store import forget_before

idempotency = AppGroup("idempotency", help="Stored responses to Idempotency-Keys.")


@idempotency.command("purge")
@click.option(
    "--older-than-days",
    type=click.IntRange(min=1),
    default=7,
    show_default=True,
    help="Forget responses stored longer ago than this; a retry after that runs afresh.",
)
def purge(older_than_days: int) -> None:
    """Daily: drop responses to old keys (safe to run again)."""
    gone = forget_before(extensions.unit_of_work(), utcnow() - timedelta(days=older_than_days))
    click.echo(f"forgot {gone} stored response(s)")
