"""Running tasks from the console: the list of the staff's tasks, editing one (PATCH
/tasks/{id}: the version read, the fields allowed at that point), cancelling with a
reason and closing — the same schema and use cases as the JSON API."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from api import extensions
from api.console.clock import now
from api.console.sessions import current_actor
from api.console.tasks import aware
from api.tasks import TaskEditSchema
from points.calendar import LOCAL_TIME
from points.errors import Conflict, InvalidInput
from points.tasks import TaskAction, TaskStatus
from service.tasks.board import TaskFilter, change_status, get_task, list_tasks
from service.tasks.editing import edit_task

SHOWN = 100
EDITED = ("title", "description", "address", "capacity", "starts_at", "ends_at")
# What the editing use case refuses, as staff read it.
CONFLICTS = {
    "task_changed": "任务已被他人修改，请刷新页面后重新编辑。",
    "task_not_editable": "已结束或已取消的任务不能编辑。",
    "capacity_below_signups": "人数上限不能少于已报名人数。",
    "task_under_way": "已有人签到，时间、类型和签到方式不能再改。",
    "task_has_signups": "已有人报名，地点和参与范围不能再改。",
}


def _listing_filter(args: Any) -> tuple[TaskFilter, dict[str, str]]:
    status, day = args.get("status", ""), args.get("date", "")
    chosen: dict[str, Any] = {}
    if status:
        if status not in {s.value for s in TaskStatus}:
            raise InvalidInput("no such status", errors={"status": ["Must be one of"]})
        chosen["status"] = TaskStatus(status)
    if day:
        try:
            start = datetime.combine(date.fromisoformat(day), time(), LOCAL_TIME)
        except ValueError:
            raise InvalidInput("not a date", errors={"date": ["Not a valid date"]}) from None
        chosen["starts_from"], chosen["starts_before"] = start, start + timedelta(days=1)
    return TaskFilter(**chosen), {"status": status, "date": day}


def _edit_body(form: Any) -> dict[str, Any]:
    body: dict[str, Any] = {name: form.get(name, "").strip() for name in EDITED}
    body["description"] = form.get("description", "")
    if body["capacity"].isdigit():
        body["capacity"] = int(body["capacity"])
    body["starts_at"], body["ends_at"] = aware(body["starts_at"]), aware(body["ends_at"])
    version = form.get("version", "")
    body["version"] = int(version) if version.isdigit() else version
    body["note"] = form.get("note", "").strip()
    return {name: value for name, value in body.items() if value != "" or name == "note"}


def _edit_form(task: Any) -> dict[str, Any]:
    moment = "%Y-%m-%dT%H:%M"
    return {
        "version": task.version,
        "title": task.title,
        "description": task.description or "",
        "address": task.address or "",
        "capacity": task.capacity,
        "starts_at": task.starts_at.astimezone(LOCAL_TIME).strftime(moment),
        "ends_at": task.ends_at.astimezone(LOCAL_TIME).strftime(moment),
        "note": "",
    }


def register(blp: Blueprint) -> None:
    @blp.route("/tasks")
    def task_list() -> str:
        wanted, chosen = _listing_filter(request.args)
        tasks = list_tasks(
            extensions.session(), current_actor(), wanted, now(), limit=SHOWN, offset=0
        )
        statuses = [(s.value, s.value) for s in TaskStatus]
        return render_template(
            "console/task_list.html", tasks=tasks, chosen=chosen, statuses=statuses
        )

    @blp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
    def edit(task_id: int) -> Response | tuple[str, int] | str:
        actor = current_actor()
        task = get_task(extensions.session(), actor, task_id, now())
        if request.method == "GET":
            form = _edit_form(task)
            return render_template("console/task_edit.html", task=task, form=form, errors={})
        errors: dict[str, Any] = {}
        status = 422
        try:
            spec = TaskEditSchema().load(_edit_body(request.form))
            edited = edit_task(extensions.unit_of_work(), actor, task_id, spec, now())
        except ValidationError as invalid:
            errors = dict(invalid.messages)  # type: ignore[arg-type]
        except InvalidInput as invalid:
            errors = {**invalid.errors, "_schema": [invalid.message]}
        except Conflict as refused:
            errors, status = {"_schema": [CONFLICTS.get(refused.code, refused.message)]}, 409
        else:
            flash(f"已保存：第 {edited.version} 版")
            return redirect(url_for("console.task", task_id=task_id))
        page = render_template(
            "console/task_edit.html", task=task, form=request.form, errors=errors
        )
        return page, status

    @blp.route("/tasks/<int:task_id>/cancel", methods=["POST"])
    def cancel(task_id: int) -> Response:
        reason = request.form.get("reason", "").strip()
        if not 2 <= len(reason) <= 500:
            raise InvalidInput("give a reason of 2 to 500 characters")
        change_status(
            extensions.unit_of_work(), current_actor(), task_id, TaskAction.CANCEL, now(), reason
        )
        flash("任务已取消")
        return redirect(url_for("console.task", task_id=task_id))

    @blp.route("/tasks/<int:task_id>/close", methods=["POST"])
    def close(task_id: int) -> Response:
        change_status(extensions.unit_of_work(), current_actor(), task_id, TaskAction.CLOSE, now())
        flash("任务已结束")
        return redirect(url_for("console.task", task_id=task_id))
