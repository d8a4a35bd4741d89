"""吹哨报到 in the console for a department's officers: the demands whistled to their
department with their deadlines (GET /demands), 报到 (POST /demands/{id}/start) and the
response (反馈, POST /demands/{id}/resolve), by the same use cases."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api import extensions
from api.console.clock import now
from api.console.sessions import current_actor
from points.demands import DemandStatus
from points.errors import InvalidInput
from service.demands.handling import DemandFilter, list_demands
from service.demands.loop import resolve_demand, start_demand

SHOWN = 100
STATUS_LABELS = {
    DemandStatus.SUBMITTED.value: "待立项",
    DemandStatus.ACCEPTED.value: "已立项",
    DemandStatus.DECLINED.value: "未受理",
    DemandStatus.ASSIGNED.value: "待报到",
    DemandStatus.IN_PROGRESS.value: "落实中",
    DemandStatus.RESOLVED.value: "已反馈",
    DemandStatus.VERIFIED.value: "已核查",
    DemandStatus.PUBLISHED.value: "已公示",
    DemandStatus.CLOSED.value: "已销号",
}


def demand_status(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def register(blp: Blueprint) -> None:
    blp.add_app_template_filter(demand_status, "demand_status")

    @blp.route("/whistles")
    def whistles() -> str:
        demands = list_demands(extensions.session(), current_actor(), DemandFilter(), SHOWN, 0)
        return render_template("console/whistles.html", demands=demands, now=now())

    @blp.route("/demands/<int:demand_id>/acknowledge", methods=["POST"])
    def acknowledge(demand_id: int) -> Response:
        note = request.form.get("note", "").strip()
        if len(note) > 500:
            raise InvalidInput("a note of at most 500 characters")
        start_demand(extensions.unit_of_work(), current_actor(), demand_id, now(), note=note)
        flash(f"已报到：诉求 {demand_id}")
        return redirect(url_for("console.whistles"))

    @blp.route("/demands/<int:demand_id>/respond", methods=["POST"])
    def respond(demand_id: int) -> Response:
        resolution = request.form.get("resolution", "").strip()
        if not 2 <= len(resolution) <= 2000:
            raise InvalidInput("say what was done in 2 to 2000 characters")
        resolve_demand(extensions.unit_of_work(), current_actor(), demand_id, resolution, now())
        flash(f"已反馈：诉求 {demand_id}")
        return redirect(url_for("console.whistles"))
