"""`lianxin demands sweep` (scheduled: note the demands whose stage passed its deadline)
and `lianxin demands export` (三个清单 as spreadsheets)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from rich.progress import MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import or_, select

from api import extensions
from points.demands import DemandLevel
from points.errors import DomainError
from points.rules import Category
from service.access import load_actor
from service.db import utcnow
from service.demands.export import export_list
from service.demands.lists import DemandList, ListFilter
from service.demands.overdue import sweep_overdue
from service.people.models import User

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


@demands.command("export")
@click.option(
    "--list",
    "which",
    type=click.Choice([kind.value for kind in DemandList]),
    required=True,
    help="problems (问题清单), tasks (任务清单) or effects (效果清单)",
)
@click.option("--by", "by", required=True, help="Username or openid of the staff exporting.")
@click.option("--org", "place_id", type=int, help="only this place and below")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="first day")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="last day, included")
@click.option("--level", type=click.Choice([level.value for level in DemandLevel]))
@click.option("--category", type=click.Choice([c.value for c in Category]))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def export_command(
    which: str,
    by: str,
    place_id: int | None,
    first: datetime | None,
    last: datetime | None,
    level: str | None,
    category: str | None,
    out: Path,
) -> None:
    """Write one of the three lists, as the staff member BY may see it, to an .xlsx."""
    session = extensions.session()
    user_id = session.scalar(select(User.id).where(or_(User.username == by, User.openid == by)))
    if user_id is None:
        raise click.ClickException(f"no user {by!r}: a list is exported as someone who may see it")
    wanted = ListFilter(
        place_id=place_id,
        first=first.date() if first else None,
        last=last.date() if last else None,
        level=DemandLevel(level) if level else None,
        category=Category(category) if category else None,
    )
    rows = 0
    with Progress(
        TextColumn("{task.description}"), MofNCompleteColumn(), TimeElapsedColumn()
    ) as progress:
        task = progress.add_task(f"{which}", total=None)

        def advance() -> None:
            nonlocal rows
            rows += 1
            progress.advance(task)

        try:
            sheet = export_list(
                session, load_actor(session, user_id), DemandList(which), wanted, utcnow(), advance
            )
        except DomainError as error:
            raise click.ClickException(error.message) from None
    with sheet.file, out.open("wb") as target:
        shutil.copyfileobj(sheet.file, target)
    click.echo(f"{out}: {rows:,} row(s)")
