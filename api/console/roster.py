"""A task's roster (报名名单) in the console: everyone on it by name and status, excusing
a no-show (POST /participations/{id}/excuse) and entering work by hand (补录, POST
/tasks/{id}/manual-entries), with the same schemas and use cases as the JSON API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from api import extensions
from api.console.clock import now
from api.console.sessions import current_actor
from api.manual_entries import ManualEntrySchema
from points.errors import Conflict, InvalidInput
from service.tasks.board import get_task
from service.tasks.manual_entry import ManualEntry, record_manually
from service.tasks.no_shows import excuse_no_show
from service.tasks.roster import task_participations

SHOWN = 500
STATUS_LABELS = {
    "waitlisted": "候补中",
    "offered": "待确认名额",
    "signed_up": "已报名",
    "checked_in": "已签到",
    "checked_out": "已签退",
    "submitted": "待审核",
    "approved": "已通过",
    "rejected": "已驳回",
    "cancelled": "已退出",
    "reversed": "已撤销",
    "no_show": "爽约",
    "excused": "爽约（已说明）",
}
REFUSALS = {
    "task_not_started": "任务尚未开始，不能补录。",
    "already_signed_up": "此人已在任务中有记录。",
    "invalid_transition": "此人当前的状态不能补录。",
}


def participation_status(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def _entry_body(form: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        name: form.get(name, "").strip() for name in ("user_id", "hours", "units", "reason")
    }
    body["note"] = form.get("note", "")
    for name in ("user_id", "units"):
        if body[name].isdigit():
            body[name] = int(body[name])
    return {name: value for name, value in body.items() if value != ""}


def register(blp: Blueprint) -> None:
    blp.add_app_template_filter(participation_status, "participation_status")

    def roster_page(task_id: int, form: Any, errors: dict[str, Any]) -> str:
        actor = current_actor()
        task = get_task(extensions.session(), actor, task_id, now())
        people = task_participations(extensions.session(), actor, task_id, SHOWN, None)
        return render_template(
            "console/roster.html", task=task, people=people, form=form, errors=errors
        )

    @blp.route("/tasks/<int:task_id>/participations")
    def roster(task_id: int) -> str:
        return roster_page(task_id, {}, {})

    @blp.route("/participations/<int:participation_id>/excuse", methods=["POST"])
    def excuse(participation_id: int) -> Response:
        reason = request.form.get("reason", "").strip()
        if not 2 <= len(reason) <= 500:
            raise InvalidInput("give a reason of 2 to 500 characters")
        excused = excuse_no_show(
            extensions.unit_of_work(), current_actor(), participation_id, reason, now()
        )
        flash("已记录爽约说明")
        return redirect(url_for("console.roster", task_id=excused.task_id))

    @blp.route("/tasks/<int:task_id>/manual-entries", methods=["POST"])
    def manual_entry(task_id: int) -> Response | tuple[str, int]:
        errors: dict[str, Any] = {}
        status = 422
        try:
            body = ManualEntrySchema().load(_entry_body(request.form))
            record_manually(
                extensions.unit_of_work(),
                current_actor(),
                task_id,
                ManualEntry(**body),
                now(),
                confirm_above=Decimal(extensions.settings().manual_entry_confirm_above_hours),
                confirm_above_units=extensions.settings().manual_entry_confirm_above_units,
            )
        except ValidationError as invalid:
            errors = dict(invalid.messages)  # type: ignore[arg-type]
        except InvalidInput as invalid:
            errors = {**invalid.errors, "_schema": [invalid.message]}
        except Conflict as refused:
            errors, status = {"_schema": [REFUSALS.get(refused.code, refused.message)]}, 409
        else:
            flash("已补录，等待审核")
            return redirect(url_for("console.roster", task_id=task_id))
        return roster_page(task_id, request.form, errors), status
