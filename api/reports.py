"""述统亮评 over HTTP: a scope's figures for a period and the league table of its parts,
as JSON, an XLSX workbook or a CSV, read through the reports' own connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import send_file
from flask.views import MethodView

from api import extensions
from api.authentication import current_actor
from api.openapi import Blueprint
from api.report_schemas import LeagueArgs, LeagueSchema, PeriodArgs, SummarySchema
from points.reports import SortOrder
from service.db import utcnow
from service.reports.league import league_table
from service.reports.spreadsheet import (
    CSV,
    XLSX,
    ReportFile,
    league_csv,
    league_workbook,
    summary_csv,
    summary_workbook,
)
from service.reports.summary import summarise

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Reports (述统亮评)")

R = TypeVar("R")


@blp.route("/reports/summary")
class Summary(MethodView):
    @blp.arguments(PeriodArgs, location="query")
    @blp.response(200, SummarySchema)
    @blp.alt_response(200, description="with format=xlsx: the workbook", content_type=XLSX)
    @blp.alt_response(200, description="with format=csv: the main table", content_type=CSV)
    def get(self, args: dict[str, Any]) -> Any:
        """A place's, branch's or department's figures for a period (the quarter unless
        from/to say otherwise), each with its change from the period before; for a
        department, its branches' members and each paired community apart. Staff,
        department officers and admins whose grants cover the scope."""
        with extensions.reports_session() as session:
            summary = summarise(
                session,
                current_actor(),
                args["scope"],
                utcnow(),
                first=args.get("first"),
                last=args.get("last"),
            )
        return _as(args["format"], summary, summary_workbook, summary_csv)


@blp.route("/reports/league")
class League(MethodView):
    @blp.arguments(LeagueArgs, location="query")
    @blp.response(200, LeagueSchema)
    @blp.alt_response(200, description="with format=xlsx: the workbook", content_type=XLSX)
    @blp.alt_response(200, description="with format=csv: the table", content_type=CSV)
    def get(self, args: dict[str, Any]) -> Any:
        """The same figures for every child of a place (each community of a street, each
        grid of a community) or every branch of a department, side by side, sorted by
        one figure (rows without it last)."""
        with extensions.reports_session() as session:
            league = league_table(
                session,
                current_actor(),
                args["scope"],
                utcnow(),
                first=args.get("first"),
                last=args.get("last"),
                sort=args["sort"],
                order=SortOrder(args["order"]),
            )
        return _as(args["format"], league, league_workbook, league_csv)


def _as(
    wanted: str,
    report: R,
    workbook: Callable[[R], ReportFile],
    table: Callable[[R], ReportFile],
) -> Any:
    if wanted == "json":
        return report
    made = workbook(report) if wanted == "xlsx" else table(report)
    return send_file(
        made.file, mimetype=made.mimetype, as_attachment=True, download_name=made.file_name
    )
