"""The staff console (工作台): server-rendered pages under /console for community staff,
station clerks and admins. Each page calls the same service function, with the same
actor, as the JSON API endpoint that does the same thing; the console adds no logic."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask

from api.console import (
    accounts,
    approvals,
    clerk,
    errors,
    home,
    reports,
    roster,
    rule_sets,
    security,
    sessions,
    task_management,
    tasks,
    whistles,
)
from api.console.messages import in_chinese
from points.calendar import LOCAL_TIME
from points.tasks import TaskStatus

STATUS_LABELS = {
    TaskStatus.DRAFT.value: "草稿",
    TaskStatus.PUBLISHED.value: "已发布",
    TaskStatus.CLOSED.value: "已结束",
    TaskStatus.CANCELLED.value: "已取消",
}


def local_time(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(LOCAL_TIME).strftime(pattern) if moment else "—"


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def init_app(app: Flask, secure_cookies: bool) -> None:
    # Flask's signed cookie carries only the one-time notices (flash) of the console.
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
    )
    # Built per app, as every extension is: a blueprint can't be set up again once an
    # app registered it. Created with its prefix (not only given one at registration),
    # so an unknown /console/… URL is the console's 404, not the API's (api/boundary.py).
    blp = Blueprint(
        "console",
        __name__,
        url_prefix="/console",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    blp.add_app_template_filter(local_time, "local_time")
    blp.add_app_template_filter(status_label, "status_label")
    blp.add_app_template_filter(in_chinese, "in_chinese")
    for feature in (
        sessions,
        home,
        tasks,
        task_management,
        roster,
        approvals,
        clerk,
        rule_sets,
        accounts,
        reports,
        whistles,
        errors,
    ):
        feature.register(blp)
    security.register(blp)
    app.register_blueprint(blp)
