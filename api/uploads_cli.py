"""`lianxin uploads …`: the scheduled job on photos."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from api import extensions
from api.uploads import public_photo_url
from service.db import utcnow
from service.housekeeping.photos import prune_unattached
from service.uploads.photos import recheck_photos

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


@uploads.command("recheck")
def recheck() -> None:
    """Ask WeChat again for the photo checks it never took (内容安全: it was down when
    the photo came); the worker does this every few minutes too."""
    click.echo(f"asked WeChat to check {recheck_unsent_photos()} photo(s) again")


def recheck_unsent_photos() -> int:
    # The links WeChat fetches are built as for a request to the public address.
    base = extensions.settings().public_base_url or "http://localhost"
    with current_app.test_request_context(base_url=base):
        return recheck_photos(
            extensions.unit_of_work(), extensions.content_checks(), public_photo_url, utcnow()
        )
