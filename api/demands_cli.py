"""`lianxin demands sweep`: note the demands whose stage passed its deadline (scheduled)."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from api import extensions
from service.db import utcnow
from service.demands.overdue import sweep_overdue

demands = AppGroup("demands", help="The resident-demand loop's scheduled work.")


@demands.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Mark each stage of a demand past its deadline once (and on its timeline): safe to
    run again, it notes nothing twice."""
    report = sweep_overdue(extensions.unit_of_work(), utcnow())
    click.echo(
        f"demands swept: {report.marked:,} stage(s) newly overdue, "
        f"{report.overdue:,} open demand(s) past their deadline"
    )
