"""`lianxin tasks …`: scheduled jobs on tasks and their participations."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from api import extensions
from points.recurrence import DEFAULT_HORIZON_DAYS
from service.db import utcnow
from service.tasks.generation import generate_occurrences
from service.tasks.no_shows import mark_no_shows
from service.tasks.waitlist import let_offers_lapse

tasks = AppGroup("tasks", help="Scheduled jobs on tasks (活动).")


@tasks.command("lapse-offers")
@click.option(
    "--now",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
    default=None,
    help="Lapse as of this moment (default: now). For catching up or testing.",
)
@click.option("--batch", type=click.IntRange(min=1), default=500, show_default=True)
def lapse_offers(as_of: datetime | None, batch: int) -> None:
    """End waitlist offers not confirmed in time and offer each place to the next in line
    (safe to run again; the worker does it every minute)."""
    moment = utcnow() if as_of is None else as_of if as_of.tzinfo else as_of.astimezone()
    report = let_offers_lapse(extensions.unit_of_work(), moment, batch=batch)
    click.echo(
        f"lapsed {report.lapsed} offer(s), {report.offered} passed on, "
        f"{report.closed} place(s) in line closed"
    )


@tasks.command("mark-no-shows")
@click.option(
    "--now",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
    default=None,
    help="Mark as of this moment (default: now). For catching up or testing.",
)
@click.option("--batch", type=click.IntRange(min=1), default=500, show_default=True)
def mark_no_shows_command(as_of: datetime | None, batch: int) -> None:
    """Mark no-show (爽约) every sign-up of a task that has ended without a check-in, and
    tell them (safe to run again; the worker does it every minute)."""
    moment = utcnow() if as_of is None else as_of if as_of.tzinfo else as_of.astimezone()
    marked = mark_no_shows(extensions.unit_of_work(), moment, batch=batch)
    click.echo(f"marked {marked} no-show(s)")


@tasks.command("generate")
@click.option(
    "--horizon-days",
    type=click.IntRange(min=0, max=366),
    default=DEFAULT_HORIZON_DAYS,
    show_default=True,
    help="Post the occurrences starting within this many days from today.",
)
@click.option(
    "--now",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
    default=None,
    help="Generate as of this moment (default: now). For catching up or testing.",
)
def generate(horizon_days: int, as_of: datetime | None) -> None:
    """Post the occurrences of every active series (周期任务) due within the horizon and
    sign their members up (safe to run again, and at once: nothing is posted twice)."""
    moment = utcnow() if as_of is None else as_of if as_of.tzinfo else as_of.astimezone()
    report = generate_occurrences(extensions.unit_of_work(), moment, horizon_days)
    click.echo(f"posted {report.posted} occurrence(s) of {report.series} active series")
