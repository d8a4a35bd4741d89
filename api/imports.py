"""Imports as uploads: the place tree, a roster (花名册) or households (户) from XLSX or
CSV, as `lianxin import` does at the console, within the uploader's places."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import Schema, fields
from werkzeug.datastructures import FileStorage

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.text import Text
from service.imports.spreadsheet import ImportReport, Outcome
from service.imports.uploads import ImportKind, UploadLimits, import_upload

blp = Blueprint(
    "imports",
    __name__,
    url_prefix="/api/v1/imports",
    description="Spreadsheet imports: places, roster, households",
)


class ImportFileSchema(Schema):
    file = Upload(
        required=True,
        metadata={
            "description": "XLSX or CSV (UTF-8 or GBK), recognised by its content. "
            "places: path, level; roster: name, phone, residence, branch?, role?; "
            "households: residence (the grid), label, head_name?, needs? "
            "(or the Chinese names: 路径, 层级, 姓名, 手机号, 居住地, 支部, 角色, "
            "网格, 门牌, 户主, 需求)"
        },
    )


class ImportedRowSchema(Schema):
    row = WholeNumber(required=True, metadata={"description": "as the spreadsheet numbers it"})
    outcome = Text(required=True, metadata={"enum": [o.value for o in Outcome]})


class ImportRowErrorSchema(Schema):
    row = WholeNumber(required=True)
    field = Text(required=True, allow_none=True, metadata={"description": "the column"})
    message = Text(required=True)


class ImportReportSchema(Schema):
    kind = Text(required=True, metadata={"enum": [k.value for k in ImportKind]})
    created = WholeNumber(required=True)
    updated = WholeNumber(required=True)
    unchanged = WholeNumber(required=True)
    rejected = WholeNumber(required=True, metadata={"description": "rows with an error"})
    landed = fields.List(fields.Nested(ImportedRowSchema), required=True)
    errors = fields.List(fields.Nested(ImportRowErrorSchema), required=True)


@blp.route("/<string:kind>")
class Imports(MethodView):
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(403, description="no right to import this kind anywhere")
    @blp.alt_response(413, description="over LIANXIN_IMPORT_MAX_BYTES or _MAX_ROWS")
    @blp.alt_response(422, description="not a spreadsheet, or without the kind's columns")
    def post(self, files: dict[str, FileStorage], kind: str) -> dict[str, Any]:
        """Import `places`, `roster` or `households`: the good rows land, each bad one is
        reported with its row, column and reason; rows naming places outside yours are
        bad rows. The same file again changes nothing."""
        settings = extensions.settings()
        limits = UploadLimits(settings.import_max_bytes, settings.import_max_rows)
        # One byte over the limit is enough to know it is too large.
        data = files["file"].stream.read(limits.max_bytes + 1)
        report: ImportReport = import_upload(
            extensions.unit_of_work(),
            current_actor(),
            kind,
            data,
            extensions.phone_vault(),
            limits,
        )
        return {"kind": kind, "rejected": report.rejected, **vars(report)}
