"""`lianxin points …`: scheduled jobs on members' points."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from api import extensions
from service.db import utcnow
from service.ledger.expiry import expire_due

points = AppGroup("points", help="Scheduled jobs on members' points.")


@points.command("expire")
@click.option(
    "--now",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
    default=None,
    help="Expire as of this moment (default: now). For catching up or testing.",
)
def expire(as_of: datetime | None) -> None:
    """Move spendable points past their date to sink:expired (safe to run again)."""
    moment = utcnow() if as_of is None else as_of if as_of.tzinfo else as_of.astimezone()
    report = expire_due(extensions.unit_of_work(), moment)
    amounts = ", ".join(f"{amount} {code}" for code, amount in sorted(report.amounts.items()))
    click.echo(f"expired {report.lots} lot(s){': ' + amounts if amounts else ''}")
