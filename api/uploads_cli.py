"""`lianxin uploads …`: the scheduled job on photos."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from api import extensions
from service.db import utcnow
from service.housekeeping.photos import prune_unattached

uploads = AppGroup("uploads", help="Scheduled job on uploaded photos (上传).")


# No --now, unlike the expiry jobs: pruning as of a later moment would delete photos
# people may still hand in.
@uploads.command("prune")
def prune() -> None:
    """Delete photos nobody handed in within 7 days of sending them (safe to run again)."""
    pruned = prune_unattached(extensions.unit_of_work(), extensions.upload_store(), utcnow())
    click.echo(
        f"pruned {pruned.photos} unattached photo(s) and {pruned.orphans} file(s) no photo named"
    )
    if pruned.files_left:
        # Exit 1 so the scheduler alerts: those files are on disk with no row (logged).
        raise click.ClickException(f"{pruned.files_left} file(s) could not be deleted")
