"""The home page (首页): today's tasks, the approvals waiting, the overdue demands and
the quarter's key figures, from the same queries as GET /tasks, GET /approvals, GET
/demands/overdue and GET /reports/summary."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, render_template

from api import extensions
from api.console.clock import now
from api.console.reports import KEY_FIGURES, quarter_summary
from api.console.sessions import current_actor
from points.access import Action, Role, ScopeType
from points.calendar import LOCAL_TIME, local_date
from points.demands import Stage
from points.errors import Forbidden
from points.reports import FIGURES
from service.demands.overdue import overdue_demands
from service.stations.catalogue import station_for
from service.tasks.approvals import approval_queue
from service.tasks.board import TaskFilter, list_tasks

SHOWN = 50
# The stage an overdue demand waits in, as staff say it.
STAGES = {
    Stage.ACCEPT.value: "立项",
    Stage.ACKNOWLEDGE.value: "报到",
    Stage.RESOLVE.value: "反馈",
    Stage.VERIFY.value: "核查",
}


def register(blp: Blueprint) -> None:
    @blp.route("/")
    def home() -> str:
        actor, moment = current_actor(), now()
        day = datetime.combine(local_date(moment), time(), LOCAL_TIME)
        today = TaskFilter(starts_from=day, starts_before=day + timedelta(days=1))
        tasks = list_tasks(extensions.session(), actor, today, moment, limit=SHOWN, offset=0)
        try:
            waiting = approval_queue(extensions.session(), actor, None, SHOWN, 0)
        except Forbidden:
            waiting = None  # a clerk or an admin without a community: no queue to show
        try:
            overdue = overdue_demands(extensions.session(), actor, moment, SHOWN, 0)
        except Forbidden:
            overdue = None  # nobody who handles demands
        quarter = quarter_summary(actor)
        stations = [
            station_for(extensions.session(), actor, grant.scope_id, Action.FULFIL_PICKUPS)
            for grant in actor.grants
            if grant.role is Role.CLERK and grant.scope_type is ScopeType.STATION
        ]
        return render_template(
            "console/home.html",
            tasks=tasks,
            waiting=waiting,
            stations=stations,
            now=moment,
            overdue=overdue,
            STAGES=STAGES,
            quarter=quarter,
            key_figures=[(name, FIGURES[name]) for name in KEY_FIGURES],
        )
