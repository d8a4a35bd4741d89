"""`lianxin import places|roster|households FILE`: bulk loads from XLSX or CSV.

A bad row is reported and skipped; the good rows land. The exit status is 1 when
any row was rejected, so a cron job or script notices.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import click
from flask.cli import AppGroup
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from api import extensions
from points.errors import InvalidInput
from service.imports import households, places, roster
from service.imports.spreadsheet import ImportReport, OnRow, Row, open_sheet

SHOWN_ERRORS = 20

Importer = Callable[[Iterator[Row], OnRow], ImportReport]

import_group = AppGroup(
    "import",
    help="Load the place tree, a member roster (花名册) or households (户) from XLSX or CSV.",
)
spreadsheet = click.Path(exists=True, dir_okay=False, path_type=Path)
report_option = click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the rejected rows (row, field, message) to this CSV file.",
)


@import_group.command("places")
@click.argument("path", type=spreadsheet)
@report_option
def import_places(path: Path, report_path: Path | None) -> None:
    """Create the place tree from rows of path (连心街道/幸福社区/…) and level."""

    def run(rows: Iterator[Row], on_row: OnRow) -> ImportReport:
        return places.import_places(extensions.unit_of_work(), rows, on_row)

    _import("places", path, places.REQUIRED, run, report_path)


@import_group.command("roster")
@click.argument("path", type=spreadsheet)
@report_option
def import_roster(path: Path, report_path: Path | None) -> None:
    """Create or update people from rows of name, phone, residence, branch and role."""

    def run(rows: Iterator[Row], on_row: OnRow) -> ImportReport:
        vault = extensions.phone_vault()
        return roster.import_roster(extensions.unit_of_work(), vault, rows, on_row)

    _import("roster", path, roster.REQUIRED, run, report_path)


@import_group.command("households")
@click.argument("path", type=spreadsheet)
@report_option
def import_households(path: Path, report_path: Path | None) -> None:
    """Create or update households (户) from rows of grid (网格), door (门牌), and
    optionally head (户主) and needs (需求)."""

    def run(rows: Iterator[Row], on_row: OnRow) -> ImportReport:
        return households.import_households(extensions.unit_of_work(), rows, on_row)

    _import("households", path, households.REQUIRED, run, report_path)


def _import(
    kind: str,
    path: Path,
    required: Collection[str],
    run: Importer,
    report_path: Path | None,
) -> None:
    console = Console(stderr=True)
    try:
        with open_sheet(path, required) as sheet, _progress(console) as progress:
            task = progress.add_task(kind, total=sheet.total)
            report = run(sheet.rows, lambda done: progress.update(task, completed=done))
            # Blank rows count in the total but are never reported done.
            progress.update(task, total=progress.tasks[0].completed)
    except InvalidInput as error:
        raise click.ClickException(f"{path.name}: {error.message}") from None
    click.echo(
        f"{kind}: {report.created:,} created, {report.updated:,} updated, "
        f"{report.unchanged:,} unchanged, {report.rejected:,} rejected"
    )
    if report_path is not None:
        _write_report(report, report_path)
    if report.errors:
        _show_errors(console, report)
        click.get_current_context().exit(1)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _show_errors(console: Console, report: ImportReport) -> None:
    shown = report.errors[:SHOWN_ERRORS]
    table = Table(title=f"{len(shown)} of {len(report.errors)} problems")
    table.add_column("row", justify="right")
    table.add_column("column")
    table.add_column("problem")
    for error in shown:
        table.add_row(str(error.row), error.field or "", error.message)
    console.print(table)


def _write_report(report: ImportReport, path: Path) -> None:
    # utf-8-sig so Excel on Chinese Windows opens the Chinese messages correctly.
    with path.open("w", newline="", encoding="utf-8-sig") as file:
        writer = csv.writer(file)
        writer.writerow(["row", "field", "message"])
        for error in report.errors:
            writer.writerow([error.row, error.field or "", error.message])
