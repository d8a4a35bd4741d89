"""`lianxin uploads …`: the scheduled job on photos."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from api import extensions
from service.db import utcnow
from service.uploads.pruning import prune_unattached

uploads = AppGroup("uploads", help="Scheduled job on uploaded photos (上传).")


@uploads.command("prune")
@click.option(
    "--now",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
    default=None,
    help="Prune as of this moment (default: now). For catching up or testing.",
)
def prune(as_of: datetime | None) -> None:
    """Delete photos nobody handed in within 7 days of sending them (safe to run again)."""
    moment = utcnow() if as_of is None else as_of if as_of.tzinfo else as_of.astimezone()
    pruned = prune_unattached(extensions.unit_of_work(), extensions.upload_store(), moment)
    click.echo(f"pruned {pruned.photos} unattached photo(s)")
    if pruned.files_left:
        # Exit 1 so the scheduler alerts: those files are on disk with no row (logged).
        raise click.ClickException(f"{pruned.files_left} file(s) could not be deleted")
