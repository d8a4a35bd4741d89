"""The notifications as an outbox consumer: notices, and task edits (whose people are
those signed up when the edit is handed out)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.notices import Topic
from points.tasks import OPEN_PARTICIPATION_STATES
from service.notices import Notice
from service.notifications.counters import UnreadCounts
from service.notifications.inbox import Told, receive, told_of
from service.notifications.templates import Templates
from service.outbox.dispatch import Handler
from service.outbox.events import Durable
from service.tasks.editing import TaskEdited
from service.tasks.models import Participation, Task

# The fields of an edit, as the people signed up read them.
_FIELD_NAMES = {
    "title": "名称",
    "description": "说明",
    "address": "地点",
    "lat": "地点",
    "lng": "地点",
    "radius_m": "签到范围",
    "starts_at": "开始时间",
    "ends_at": "结束时间",
    "capacity": "名额",
    "org_id": "所属社区",
    "audience": "报名对象",
    "type": "类型",
    "category": "类别",
    "work_unit": "计量方式",
    "checkin_mode": "签到方式",
}


def notification_handlers(
    templates: Templates, counts: UnreadCounts
) -> dict[type[Durable], Handler]:
    def on_notices(session: Session, events: Sequence[Durable]) -> None:
        receive(
            session,
            told_of(event for event in events if isinstance(event, Notice)),
            templates,
            counts,
        )

    def on_task_edits(session: Session, events: Sequence[Durable]) -> None:
        receive(session, _edits_told(session, events), templates, counts)

    return {Notice: on_notices, TaskEdited: on_task_edits}


def _edits_told(session: Session, events: Sequence[Durable]) -> list[Told]:
    told: list[Told] = []
    for event in events:
        if not isinstance(event, TaskEdited):
            continue
        rows = session.execute(
            select(Participation.user_id, Task.title, Task.starts_at, Task.address)
            .join(Task, Task.id == Participation.task_id)
            .where(
                Participation.task_id == event.task_id,
                Participation.status.in_([state.value for state in OPEN_PARTICIPATION_STATES]),
            )
        ).all()
        changed = "、".join(dict.fromkeys(_FIELD_NAMES.get(name, name) for name in event.fields))
        for user_id, title, starts_at, address in rows:
            facts: dict[str, str | int] = {
                "task_id": event.task_id,
                "task_title": title,
                "changed": changed,
                "starts_at": starts_at.isoformat(),
                "address": address,
            }
            told.append(
                Told(user_id, Topic.TASK_EDITED, f"task:{event.task_id}:v{event.version}", facts)
            )
    return told
