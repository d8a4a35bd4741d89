"""述统亮评 in the console: the quarter's summary for the signed-in person's scope as
tables, and its XLSX — the same report as GET /reports/summary (?format=xlsx), read
through the reports' own connection."""

from __future__ import annotations

from flask import Blueprint, render_template, send_file
from werkzeug.wrappers import Response

from api import extensions
from api.console.clock import now
from api.console.sessions import current_actor
from points.access import Action, Actor, ScopeType, allows
from points.errors import Forbidden
from points.reports import FIGURES, RATIOS, Scope, ScopeKind
from service.reports.spreadsheet import summary_workbook
from service.reports.summary import Summary, summarise

# The report of where one works: the grant's scope, as a report names it.
SCOPE_KINDS = {
    ScopeType.PLACE: ScopeKind.PLACE,
    ScopeType.BRANCH: ScopeKind.BRANCH,
    ScopeType.DEPARTMENT: ScopeKind.DEPARTMENT,
}
# What the home page shows of the quarter.
KEY_FIGURES = (
    "tasks_published",
    "volunteers",
    "volunteer_hours",
    "demands_received",
    "demands_closed",
    "jifen_issued",
)


def own_scope(actor: Actor) -> Scope | None:
    """The first scope the person may read reports for (a community's staff: their
    community; an officer: their department), or None."""
    for grant in actor.grants:
        kind = SCOPE_KINDS.get(grant.scope_type)
        if (
            kind is not None
            and grant.scope_id is not None
            and allows(grant.role, Action.VIEW_REPORTS)
        ):
            return Scope(kind, grant.scope_id)
    return None


def quarter_summary(actor: Actor) -> Summary | None:
    scope = own_scope(actor)
    if scope is None:
        return None
    with extensions.reports_session() as session:
        return summarise(session, actor, scope, now())


def figure(value: float | int | None, name: str) -> str:
    if value is None:
        return "—"
    if name == "acknowledge_rate":
        return f"{value * 100:.0f}%"
    if name in RATIOS or isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def register(blp: Blueprint) -> None:
    blp.add_app_template_filter(figure, "figure")

    @blp.route("/reports")
    def reports() -> str:
        summary = quarter_summary(current_actor())
        if summary is None:
            raise Forbidden("your roles do not include reading reports")
        return render_template("console/reports.html", summary=summary, figures=FIGURES)

    @blp.route("/reports/summary.xlsx")
    def report_workbook() -> Response:
        summary = quarter_summary(current_actor())
        if summary is None:
            raise Forbidden("your roles do not include reading reports")
        made = summary_workbook(summary)
        return send_file(
            made.file, mimetype=made.mimetype, as_attachment=True, download_name=made.file_name
        )
