"""`lianxin leaderboard …`: keeping the Redis boards in line with the ledger (sync
after an outage, rebuild, nightly reconcile and prune)."""

from __future__ import annotations

import logging
import time

import click
from flask.cli import AppGroup
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api import extensions
from points.errors import DomainError
from points.leaderboard import Period, parse_scope
from service.db import utcnow
from service.leaderboards.rebuild import Report, Selection, prune, regenerate, sync

log = logging.getLogger(__name__)

leaderboard = AppGroup("leaderboard", help="Keep the Redis leaderboards in line with the ledger.")

SCOPE = click.option("--scope", help="only this scope: org:<id>, branch:<id> or dept:<id>")
CURRENCY = click.option("--currency", help="only this currency (jifen, xingfubi)")
PERIOD = click.option(
    "--period", type=click.Choice([p.value for p in Period]), help="only this kind of period"
)


def _selection(scope: str | None, currency: str | None, period: str | None) -> Selection:
    try:
        return Selection(
            scope=parse_scope(scope) if scope else None,
            currency=currency,
            period=Period(period) if period else None,
        )
    except DomainError as error:
        raise click.BadParameter(str(error), param_hint="--scope") from None


@leaderboard.command("sync")
@click.option("--batch", type=click.IntRange(min=1), default=1000, show_default=True)
def sync_command(batch: int) -> None:
    """Apply outbox events not yet in Redis (after an outage); rebuild missing boards."""
    report = sync(extensions.session(), extensions.leaderboards(), now=utcnow(), batch=batch)
    click.echo(
        f"leaderboards synced: {report.applied:,} event(s) applied, "
        f"{report.rebuilt:,} board(s) rebuilt, {report.left:,} left"
    )
    if report.left:
        raise click.ClickException(f"{report.left} event(s) could not be applied")


def _run(selection: Selection, *, compare: bool, title: str) -> Report:
    with Progress(
        TextColumn(title),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task(title, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return regenerate(
            extensions.session(),
            extensions.leaderboards(),
            selection,
            now=utcnow(),
            compare=compare,
            progress=advance,
        )


@leaderboard.command("rebuild")
@SCOPE
@CURRENCY
@PERIOD
def rebuild_command(scope: str | None, currency: str | None, period: str | None) -> None:
    """Rebuild boards from the ledger; each is swapped in whole (readers never see a
    partial or empty board)."""
    started = time.perf_counter()
    report = _run(_selection(scope, currency, period), compare=False, title="rebuilding")
    click.echo(
        f"leaderboards rebuilt: {report.written:,} board(s), {report.entries:,} entries "
        f"in {time.perf_counter() - started:.1f} s"
    )


@leaderboard.command("reconcile")
@SCOPE
@CURRENCY
@PERIOD
def reconcile_command(scope: str | None, currency: str | None, period: str | None) -> None:
    """Compare Redis with the ledger, repair what differs, prune old periods (nightly)."""
    report = _run(_selection(scope, currency, period), compare=True, title="reconciling")
    pruned = prune(extensions.leaderboards(), now=utcnow())
    for difference in report.differences:
        click.echo(f"  repaired {difference}", err=True)
    click.echo(
        f"leaderboards reconciled: {report.boards:,} board(s) checked, "
        f"{len(report.differences):,} repaired, {pruned:,} old board(s) pruned"
    )


@leaderboard.command("prune")
def prune_command() -> None:
    """Delete period boards older than LIANXIN_LEADERBOARD_KEEP_PERIODS periods."""
    pruned = prune(extensions.leaderboards(), now=utcnow())
    click.echo(f"leaderboards pruned: {pruned:,} old board(s)")
