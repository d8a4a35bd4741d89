"""`lianxin report summary|league`: a scope's quarter (or any days) written to the
spreadsheet handed upwards, as someone who may see it, with a progress bar."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api import extensions
from points.errors import DomainError
from points.reports import SortOrder, parse_quarter, parse_scope
from service.access import load_actor
from service.db import utcnow
from service.people.models import User
from service.reports.league import league_table
from service.reports.spreadsheet import (
    ReportFile,
    league_csv,
    league_workbook,
    summary_csv,
    summary_workbook,
)
from service.reports.summary import parts, summarise

report = AppGroup("report", help="述统亮评: a period's figures as a spreadsheet.")

_scope = click.option("--scope", required=True, help="org:{id}, branch:{id} or dept:{id}")
_by = click.option("--by", required=True, help="Username or openid of who the report is for.")
_quarter = click.option("--quarter", help="e.g. 2026Q4; the current quarter by default")
_first = click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="first day")
_last = click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="last day, included")
_out = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="an .xlsx (the workbook) or a .csv (the main table)",
)


@report.command("summary")
@_scope
@_by
@_quarter
@_first
@_last
@_out
@with_appcontext
def summary_command(
    scope: str,
    by: str,
    quarter: str | None,
    first: datetime | None,
    last: datetime | None,
    out: Path,
) -> None:
    """Write SCOPE's report for the period to OUT."""
    period = _period(quarter, first, last)
    with extensions.reports_session() as session, _progress() as progress:
        try:
            actor = load_actor(session, _user_id(session, by))
            asked, now = parse_scope(scope), utcnow()
            task = progress.add_task(scope, total=parts(session, actor, asked, now, **period))
            made = summarise(
                session, actor, asked, now, progress=lambda: progress.advance(task), **period
            )
        except DomainError as error:
            raise click.ClickException(error.message) from None
    _write(summary_csv(made) if _is_csv(out) else summary_workbook(made), out)
    click.echo(f"{out}: {made.title}")


@report.command("league")
@_scope
@_by
@_quarter
@_first
@_last
@click.option("--sort", default="volunteer_hours", show_default=True, help="a figure")
@click.option(
    "--order", type=click.Choice([order.value for order in SortOrder]), default=SortOrder.DESC.value
)
@_out
@with_appcontext
def league_command(
    scope: str,
    by: str,
    quarter: str | None,
    first: datetime | None,
    last: datetime | None,
    sort: str,
    order: str,
    out: Path,
) -> None:
    """Write the league table of SCOPE's parts for the period to OUT."""
    period = _period(quarter, first, last)
    with extensions.reports_session() as session, _progress() as progress:
        task = progress.add_task(scope, total=1)
        try:
            made = league_table(
                session,
                load_actor(session, _user_id(session, by)),
                parse_scope(scope),
                utcnow(),
                sort=sort,
                order=SortOrder(order),
                **period,
            )
        except DomainError as error:
            raise click.ClickException(error.message) from None
        progress.advance(task)
    _write(league_csv(made) if _is_csv(out) else league_workbook(made), out)
    click.echo(f"{out}: {made.title}, {len(made.rows)} row(s)")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )


def _period(quarter: str | None, first: datetime | None, last: datetime | None) -> dict[str, Any]:
    if quarter and (first or last):
        raise click.UsageError("give --quarter or --from/--to, not both")
    if quarter:
        try:
            span = parse_quarter(quarter)
        except DomainError as error:
            raise click.BadParameter(error.message, param_hint="--quarter") from None
        return {"first": span.first, "last": span.last}
    return {"first": first.date() if first else None, "last": last.date() if last else None}


def _user_id(session: Session, by: str) -> int:
    user_id = session.scalar(select(User.id).where(or_(User.username == by, User.openid == by)))
    if user_id is None:
        raise click.ClickException(f"no user {by!r}: a report is made as someone who may see it")
    return user_id


def _is_csv(out: Path) -> bool:
    return out.suffix.lower() == ".csv"


def _write(made: ReportFile, out: Path) -> None:
    with made.file, out.open("wb") as target:
        shutil.copyfileobj(made.file, target)
