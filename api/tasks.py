"""Tasks: staff post and manage them; members find them (nearest first if asked)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, post_load, validate

from api import extensions
from api.authentication import current_actor
from api.nearness import NearArgs
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, offset_page, page, page_schema
from api.text import MultilineText, Text
from points.rules import Category, TaskType, WorkUnit
from points.tasks import Audience, CheckinMode, TaskAction, TaskStatus
from service.db import utcnow
from service.tasks.board import (
    NewTask,
    TaskFilter,
    change_status,
    create_task,
    get_task,
    list_tasks,
)
from service.tasks.editing import TaskEdit, edit_task, task_changes

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Tasks (任务)")


def choices(kind: Any) -> validate.OneOf:
    return validate.OneOf([member.value for member in kind])


class TaskSchema(Schema):
    id = WholeNumber(dump_only=True)
    title = Text(required=True, validate=validate.Length(min=2, max=100))
    description = MultilineText(load_default="", validate=validate.Length(max=4000))
    category = Text(required=True, validate=choices(Category))
    type = Text(required=True, validate=choices(TaskType))
    org_id = WholeNumber(attribute="place_id", required=True, validate=validate.Range(min=1))
    address = Text(load_default="", validate=validate.Length(max=200))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    radius_m = WholeNumber(required=True, validate=validate.Range(min=10, max=5000))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    capacity = WholeNumber(required=True, validate=validate.Range(min=1, max=10_000))
    audience = Text(load_default=Audience.EVERYONE.value, validate=choices(Audience))
    checkin_mode = Text(required=True, validate=choices(CheckinMode))
    work_unit = Text(required=True, validate=choices(WorkUnit))
    demand_id = WholeNumber(load_default=None, allow_none=True)
    household_id = WholeNumber(
        load_default=None,
        allow_none=True,
        metadata={"description": "the one door it is for (送菜上门): handed-in work reaches it"},
    )
    publish = fields.Boolean(load_default=False, load_only=True)
    status = Text(dump_only=True, metadata={"enum": [s.value for s in TaskStatus]})
    signed_up_count = WholeNumber(dump_only=True)
    cancel_reason = Text(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    version = WholeNumber(
        dump_only=True, metadata={"description": "send it back with an edit (PATCH)"}
    )
    updated_at = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "last edited; later than your signed_up_at: changed since"},
    )
    series_id = WholeNumber(
        dump_only=True,
        allow_none=True,
        metadata={"description": "the series (周期任务) it is an occurrence of, if any"},
    )
    occurrence_date = fields.Date(
        dump_only=True, allow_none=True, metadata={"description": "that occurrence's local day"}
    )

    @post_load
    def to_new_task(self, data: dict[str, Any], **_: Any) -> NewTask:
        return NewTask(
            **{
                **data,
                "category": Category(data["category"]),
                "type": TaskType(data["type"]),
                "audience": Audience(data["audience"]),
                "checkin_mode": CheckinMode(data["checkin_mode"]),
                "work_unit": WorkUnit(data["work_unit"]),
            }
        )


class TemplateChangesSchema(Schema):
    """What a task is, each field optional: the changes an edit of a task, or of the
    template a series posts its tasks from, may carry."""

    title = Text(validate=validate.Length(min=2, max=100))
    description = MultilineText(validate=validate.Length(max=4000))
    category = Text(validate=choices(Category))
    type = Text(validate=choices(TaskType))
    org_id = WholeNumber(attribute="place_id", validate=validate.Range(min=1))
    address = Text(validate=validate.Length(max=200))
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lng = fields.Float(validate=validate.Range(min=-180, max=180))
    radius_m = WholeNumber(validate=validate.Range(min=10, max=5000))
    capacity = WholeNumber(validate=validate.Range(min=1, max=10_000))
    audience = Text(validate=choices(Audience))
    checkin_mode = Text(validate=choices(CheckinMode))
    work_unit = Text(validate=choices(WorkUnit))


class TaskEditSchema(TemplateChangesSchema):
    """An edit: the version you saw and only the fields to change."""

    version = WholeNumber(
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": "the task's version as you read it; 409 task_changed if not"},
    )
    note = Text(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"description": "for those signed up: what changed and why"},
    )
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()

    @post_load
    def to_edit(self, data: dict[str, Any], **_: Any) -> TaskEdit:
        version, note = data.pop("version"), data.pop("note")
        return TaskEdit(version=version, changes=data, note=note)


class TaskChangeSchema(Schema):
    version = WholeNumber(required=True, metadata={"description": "the version it made"})
    changed_at = fields.DateTime(required=True)
    changed_by_id = WholeNumber(required=True)
    changes = fields.Dict(
        required=True,
        metadata={
            "description": "field → {before, after}, fields as a task names them",
            "example": {"capacity": {"before": 5, "after": 8}},
        },
    )
    note = Text(required=True)


class TaskListArgs(PageArgs, NearArgs):
    status = Text(validate=choices(TaskStatus))
    category = Text(validate=choices(Category))
    type = Text(validate=choices(TaskType))
    org_id = WholeNumber(validate=validate.Range(min=1))
    starts_from = fields.AwareDateTime(data_key="from")
    starts_before = fields.AwareDateTime(data_key="to")

    @post_load
    def to_filter(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        near = tuple(float(part) for part in data["near"].split(",")) if "near" in data else None
        wanted = TaskFilter(
            status=TaskStatus(data["status"]) if "status" in data else None,
            category=Category(data["category"]) if "category" in data else None,
            type=TaskType(data["type"]) if "type" in data else None,
            place_id=data.get("org_id"),
            starts_from=data.get("starts_from"),
            starts_before=data.get("starts_before"),
            near=near,  # type: ignore[arg-type]
        )
        return {"filter": wanted, "limit": data["limit"], "offset": int_cursor(data["cursor"])}


class CancelSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=2, max=500))


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(TaskListArgs, location="query")
    @blp.response(200, page_schema(TaskSchema, "TaskPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Tasks you may see: for staff, all in their scope; for members, published tasks
        where they live, in their branch's place and in paired communities."""
        limit, offset = args["limit"], args["offset"]
        rows = list_tasks(
            extensions.session(),
            current_actor(),
            args["filter"],
            utcnow(),
            limit=limit + 1,
            offset=offset,
        )
        return offset_page(rows, limit, offset)

    @blp.arguments(TaskSchema)
    @blp.response(201, TaskSchema)
    def post(self, spec: NewTask) -> Any:
        """Post a task at a place you manage; `publish: true` publishes it at once."""
        return create_task(extensions.unit_of_work(), current_actor(), spec, utcnow())


@blp.route("/<int:task_id>")
class OneTask(MethodView):
    @blp.response(200, TaskSchema)
    def get(self, task_id: int) -> Any:
        return get_task(extensions.session(), current_actor(), task_id, utcnow())

    @blp.arguments(TaskEditSchema)
    @blp.response(200, TaskSchema)
    def patch(self, edit: TaskEdit, task_id: int) -> Any:
        """Correct or change an open task. Words and the pin always; capacity down to
        the seats taken; the window, type, category, unit and check-in mode until
        anyone checks in; the place (within your scope) and a narrower audience until
        anyone signs up. Each edit is kept for those signed up (`/changes`)."""
        return edit_task(extensions.unit_of_work(), current_actor(), task_id, edit, utcnow())


@blp.route("/<int:task_id>/changes")
class TaskChanges(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(TaskChangeSchema, "TaskChangePage"))
    def get(self, args: dict[str, Any], task_id: int) -> dict[str, Any]:
        """What each edit of the task changed, newest first: those signed up compare
        it with when they did."""
        before = int_cursor(args["cursor"]) or None
        rows = task_changes(
            extensions.session(),
            current_actor(),
            task_id,
            utcnow(),
            limit=args["limit"] + 1,
            before=before,
        )
        return page(rows, args["limit"], key=lambda change: change.version)


def _action_route(action: TaskAction) -> None:
    class Act(MethodView):
        @blp.response(200, TaskSchema)
        def post(self, task_id: int) -> Any:
            return change_status(
                extensions.unit_of_work(), current_actor(), task_id, action, utcnow()
            )

    Act.__name__ = f"{action.value.title()}Task"
    Act.post.__doc__ = f"{action.value.title()} the task."
    blp.route(f"/<int:task_id>/{action.value}")(Act)


_action_route(TaskAction.PUBLISH)
_action_route(TaskAction.CLOSE)


@blp.route("/<int:task_id>/cancel")
class CancelTask(MethodView):
    @blp.arguments(CancelSchema)
    @blp.response(200, TaskSchema)
    def post(self, body: dict[str, Any], task_id: int) -> Any:
        """Cancel the task, saying why."""
        return change_status(
            extensions.unit_of_work(),
            current_actor(),
            task_id,
            TaskAction.CANCEL,
            utcnow(),
            body["reason"],
        )
