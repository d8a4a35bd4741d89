"""The approvals queue (审核): the same queue and decisions as GET /approvals and
/participations/{id}/approve|reject, and approving many at once as /approvals/bulk."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api import extensions
from api.console.clock import now
from api.console.sessions import current_actor
from api.uploads import photo_links
from points.errors import DomainError, InvalidInput
from service.tasks.approvals import (
    approval_queue,
    approve_many,
    approve_participation,
    reject_participation,
)

SHOWN = 100


def register(blp: Blueprint) -> None:
    @blp.route("/approvals")
    def approvals() -> str:
        waiting = approval_queue(extensions.session(), current_actor(), None, SHOWN, 0)
        photos = {p.id: photo_links(photo.upload_id for photo in p.photos) for p in waiting}
        return render_template("console/approvals.html", waiting=waiting, photos=photos)

    @blp.route("/approvals/<int:participation_id>/approve", methods=["POST"])
    def approve(participation_id: int) -> Response:
        approve_participation(extensions.unit_of_work(), current_actor(), participation_id, now())
        flash(f"已通过 #{participation_id}")
        return redirect(url_for("console.approvals"))

    @blp.route("/approvals/<int:participation_id>/reject", methods=["POST"])
    def reject(participation_id: int) -> Response:
        reason = request.form.get("reason", "").strip()
        if not 2 <= len(reason) <= 500:
            raise InvalidInput("give a reason of 2 to 500 characters")
        reject_participation(
            extensions.unit_of_work(), current_actor(), participation_id, reason, now()
        )
        flash(f"已驳回 #{participation_id}")
        return redirect(url_for("console.approvals"))

    @blp.route("/approvals/bulk", methods=["POST"])
    def approve_selected() -> Response:
        ids = [int(value) for value in request.form.getlist("participation_id") if value.isdigit()]
        if not 1 <= len(ids) <= SHOWN:
            raise InvalidInput("choose the work to approve")
        outcomes = approve_many(extensions.unit_of_work(), current_actor(), ids, now())
        for outcome in outcomes:
            error: DomainError | None = outcome.error
            flash(f"#{outcome.participation_id}：" + ("已通过" if error is None else error.message))
        return redirect(url_for("console.approvals"))
