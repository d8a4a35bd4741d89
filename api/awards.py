"""Bulk awards from a spreadsheet: `lianxin awards import` and an upload endpoint."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from sqlalchemy import or_, select
from werkzeug.datastructures import FileStorage

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.text import Text, cli_text
from points.access import Actor
from points.errors import InvalidInput
from service.access import load_actor
from service.db import utcnow
from service.imports.awards import REQUIRED, AwardReport, import_awards
from service.imports.spreadsheet import open_sheet
from service.people.models import User

BATCH = validate.Length(min=2, max=60)


def run_import(actor: Actor, path: Path, batch: str) -> AwardReport:
    with open_sheet(path, REQUIRED) as sheet:
        return import_awards(
            extensions.unit_of_work(),
            actor,
            extensions.phone_vault(),
            sheet.rows,
            batch=batch,
            confirm_above=extensions.settings().second_confirmation_above,
            now=utcnow(),
        )


# --- the endpoint -----------------------------------------------------------------------

blp = Blueprint(
    "awards",
    __name__,
    url_prefix="/api/v1/award-imports",
    description="Bulk awards from a spreadsheet",
)


class UploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "XLSX or CSV: phone, amount, reason"})


class BatchSchema(Schema):
    batch = Text(
        required=True,
        validate=BATCH,
        metadata={
            "description": "e.g. 2026年度优秀志愿者; one award per person and currency per batch"
        },
    )


class RowErrorSchema(Schema):
    row = WholeNumber()
    field = Text(allow_none=True)
    message = Text()


class AwardReportSchema(Schema):
    posted = WholeNumber()
    waiting = WholeNumber(metadata={"description": "awaiting a second staff member"})
    already = WholeNumber(metadata={"description": "done by an earlier run of this batch"})
    errors = fields.List(fields.Nested(RowErrorSchema))


@blp.route("")
class AwardImports(MethodView):
    @blp.arguments(UploadSchema, location="files")
    # The batch rides in the query: an operation has one request body, the file.
    @blp.arguments(BatchSchema, location="query")
    @blp.response(200, AwardReportSchema)
    def post(self, files: dict[str, FileStorage], query: dict[str, Any]) -> AwardReport:
        """Award many people at once; bad rows are reported, the good ones go through."""
        upload = files["file"]
        suffix = Path(upload.filename or "").suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            raise InvalidInput("upload a .csv or .xlsx file", errors={"file": ["csv or xlsx"]})
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"awards{suffix}"
            upload.save(path)
            return run_import(current_actor(), path, query["batch"])


# --- the command ------------------------------------------------------------------------

awards = AppGroup("awards", help="Bulk awards.")


@awards.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--batch", required=True, callback=cli_text(), help="The award round, e.g. 2026年度优秀志愿者."
)
@click.option("--by", "by", required=True, help="Username or openid of the admin awarding.")
def import_command(path: Path, batch: str, by: str) -> None:
    """Award from a spreadsheet (columns: phone, amount, reason; optional currency)."""
    session = extensions.session()
    user_id = session.scalar(select(User.id).where(or_(User.username == by, User.openid == by)))
    if user_id is None:
        raise click.ClickException(f"no user {by!r}: awards need an accountable admin")
    try:
        report = run_import(load_actor(session, user_id), path, batch)
    except InvalidInput as error:
        raise click.ClickException(f"{path}: {error.message}") from None
    click.echo(
        f"awards {batch}: {report.posted} posted, {report.waiting} waiting for "
        f"confirmation, {report.already} already done, {len(report.errors)} rejected"
    )
    for problem in report.errors[:20]:
        click.echo(f"  row {problem.row}: {problem.message}", err=True)
    if report.errors:
        raise SystemExit(1)
