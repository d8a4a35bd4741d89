"""`lianxin redemptions …`: scheduled jobs on redemptions."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from api import extensions
from service.db import utcnow
from service.stations.release import expire_due

redemptions = AppGroup("redemptions", help="Scheduled jobs on redemptions (兑换).")


@redemptions.command("expire")
@click.option(
    "--now",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
    default=None,
    help="Expire as of this moment (default: now). For catching up or testing.",
)
def expire(as_of: datetime | None) -> None:
    """Release holds not picked up in time: points and stock go back (safe to run again)."""
    moment = utcnow() if as_of is None else as_of if as_of.tzinfo else as_of.astimezone()
    count = expire_due(extensions.unit_of_work(), moment)
    click.echo(f"expired {count} redemption(s)")
