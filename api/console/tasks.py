"""Tasks: create and publish (the same schema and use cases as POST /tasks and
/tasks/{id}/publish), one task's page, and its full-screen check-in QR code."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import qrcode
import qrcode.image.svg
from flask import Blueprint, redirect, render_template, request, url_for
from markupsafe import Markup
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from api import extensions
from api.console.clock import now
from api.console.sessions import current_actor
from api.tasks import TaskSchema
from points.access import ScopeType
from points.calendar import LOCAL_TIME
from points.errors import InvalidInput
from points.rules import Category, TaskType, WorkUnit
from points.tasks import TaskAction
from service.places.admin import list_places
from service.tasks.attendance import checkin_code_for
from service.tasks.board import change_status, create_task, get_task

PLACES_SHOWN = 500
CHOICES = {
    "category": [(c.value, c.label) for c in Category],
    "type": [(t.value, t.label) for t in TaskType],
    "work_unit": [(w.value, w.label) for w in WorkUnit],
    "checkin_mode": [("code", "签到码"), ("geofence", "定位"), ("both", "定位 + 签到码")],
}


def place_choices() -> list[tuple[str, str]]:
    """The places under the actor's place grants, where they may post: (id, name)."""
    session, places = extensions.session(), {}
    for grant in current_actor().grants:
        if grant.scope_type is ScopeType.PLACE and grant.scope_id is not None:
            for place in list_places(session, under=grant.scope_id, limit=PLACES_SHOWN):
                places[place.id] = place
    ordered = sorted(places.values(), key=lambda place: place.path)
    return [(str(place.id), place.name) for place in ordered]


def aware(text: str) -> str:
    # <input type="datetime-local"> sends wall-clock time; staff mean Beijing time.
    if not text:
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # the schema names the field
    return (moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TIME)).isoformat()


def _form_body(form: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        name: form.get(name, "").strip()
        for name in (
            "title",
            "description",
            "category",
            "type",
            "org_id",
            "address",
            "lat",
            "lng",
            "radius_m",
            "capacity",
            "checkin_mode",
            "work_unit",
        )
    }
    for name in ("org_id", "radius_m", "capacity"):
        if body[name].isdigit():
            body[name] = int(body[name])  # the JSON schema takes numbers, not digits
    for name in ("lat", "lng"):
        with contextlib.suppress(ValueError):  # left as typed, for the schema to name
            body[name] = float(body[name])
    body["starts_at"] = aware(form.get("starts_at", ""))
    body["ends_at"] = aware(form.get("ends_at", ""))
    body["publish"] = form.get("publish") == "on"
    return {name: value for name, value in body.items() if value != ""}


def qr_svg(text: str) -> Markup:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=20)
    svg: bytes = image.to_string()
    # Markup from our own SVG writer, of digits and letters we made: nothing of a user's.
    return Markup(svg.decode())  # noqa: S704


def register(blp: Blueprint) -> None:
    @blp.route("/tasks/new", methods=["GET", "POST"])
    def new_task() -> Response | tuple[str, int] | str:
        errors: dict[str, Any] = {}
        if request.method == "POST":
            try:
                spec = TaskSchema().load(_form_body(request.form))
                task = create_task(extensions.unit_of_work(), current_actor(), spec, now())
            except ValidationError as invalid:
                errors = dict(invalid.messages)  # type: ignore[arg-type]
            except InvalidInput as invalid:
                errors = {**invalid.errors, "_schema": [invalid.message]}
            else:
                return redirect(url_for("console.task", task_id=task.id))
        page = render_template(
            "console/task_new.html",
            places=place_choices(),
            choices=CHOICES,
            form=request.form,
            errors=errors,
        )
        return (page, 422) if errors else page

    @blp.route("/tasks/<int:task_id>")
    def task(task_id: int) -> str:
        found = get_task(extensions.session(), current_actor(), task_id, now())
        return render_template("console/task.html", task=found)

    @blp.route("/tasks/<int:task_id>/publish", methods=["POST"])
    def publish(task_id: int) -> Response:
        change_status(
            extensions.unit_of_work(), current_actor(), task_id, TaskAction.PUBLISH, now()
        )
        return redirect(url_for("console.task", task_id=task_id))

    @blp.route("/tasks/<int:task_id>/checkin")
    def checkin(task_id: int) -> str:
        found = get_task(extensions.session(), current_actor(), task_id, now())
        return render_template("console/checkin.html", task=found, **_code(task_id))

    @blp.route("/tasks/<int:task_id>/checkin/code")
    def checkin_code(task_id: int) -> str:
        # Fetched by the QR page itself every few seconds (htmx), well before expiry.
        return render_template("console/_checkin_code.html", task_id=task_id, **_code(task_id))


def _code(task_id: int) -> dict[str, Any]:
    code = checkin_code_for(
        extensions.session(), current_actor(), task_id, extensions.settings().secret_key, now()
    )
    return {"code": code, "qr": qr_svg(code.scene)}
