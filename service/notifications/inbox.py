"""Notices become notifications: one per member and source, in the inbox always, and a
WeChat message waiting to be sent where a template tells the topic, the member has
not turned WeChat off for it, and WeChat knows them (an openid)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from points.access import Actor
from points.errors import NotFound
from points.notices import Facts, Topic, wording
from service.db import rows_changed, utcnow
from service.notifications.counters import UnreadCounts
from service.notifications.models import (
    MESSAGE_TABLE,
    NOTIFICATION_TABLE,
    MessageStatus,
    Notification,
    NotificationSetting,
)
from service.notifications.templates import Templates
from service.people.models import User
from service.unit_of_work import UnitOfWork

_BATCH = 500


@dataclass(frozen=True, slots=True)
class Told:
    """One notification to write: who, about what, from which source."""

    user_id: int
    topic: Topic
    source: str
    facts: Facts


def write_notifications(
    session: Session, told: Sequence[Told], templates: Templates, now: datetime
) -> list[int]:
    """Write what is not in the inbox yet (a source already told to a member is
    skipped: redelivery, or two sweeps at once) and queue its WeChat messages, in the
    session's transaction; returns the member of each notification written (so its
    length is how many), to invalidate their counts."""
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    written: list[tuple[int, int, str]] = []
    for start in range(0, len(told), _BATCH):
        rows = [_row(one, templates, now) for one in told[start : start + _BATCH]]
        written += [
            (row.id, row.user_id, row.topic)
            for row in session.execute(
                upsert(NOTIFICATION_TABLE)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["user_id", "source"])
                .returning(
                    NOTIFICATION_TABLE.c.id,
                    NOTIFICATION_TABLE.c.user_id,
                    NOTIFICATION_TABLE.c.topic,
                )
            )
        ]
    _queue_messages(session, written, templates, now)
    return [user_id for _, user_id, _ in written]


def _row(one: Told, templates: Templates, now: datetime) -> dict[str, Any]:
    words = wording(one.topic, one.facts)
    template = templates.get(one.topic)
    return {
        "user_id": one.user_id,
        "topic": one.topic.value,
        "source": one.source[:120],
        "title": words.title[:64],
        "body": words.body,
        "facts": dict(one.facts),
        "page": template.page_for(one.facts) if template and template.page else None,
        "created_at": now,
        "read_at": None,
    }


def _queue_messages(
    session: Session, written: list[tuple[int, int, str]], templates: Templates, now: datetime
) -> None:
    wanted = [(id, user_id, Topic(topic)) for id, user_id, topic in written]
    wanted = [item for item in wanted if item[2] in templates]
    if not wanted:
        return
    people = {user_id for _, user_id, _ in wanted}
    reachable = set(
        session.scalars(select(User.id).where(User.id.in_(people), User.openid.is_not(None)))
    )
    declined = {
        (user_id, topic)
        for user_id, topic in session.execute(
            select(NotificationSetting.user_id, NotificationSetting.topic).where(
                NotificationSetting.user_id.in_(people), NotificationSetting.wechat.is_(False)
            )
        )
    }
    rows = [
        {
            "notification_id": id,
            "user_id": user_id,
            "template_id": templates[topic].template_id,
            "status": MessageStatus.WAITING.value,
            "attempts": 0,
            "due_at": now,
        }
        for id, user_id, topic in wanted
        if user_id in reachable and (user_id, topic.value) not in declined
    ]
    for start in range(0, len(rows), _BATCH):
        session.execute(insert(MESSAGE_TABLE), rows[start : start + _BATCH])


def told_of(notices: Iterable[Any]) -> list[Told]:
    """Each notice's members, one by one (service.notices.Notice, duck-typed here so
    the outbox's payloads and the sweeps' reminders share one writer)."""
    return [
        Told(user_id, notice.topic, notice.source, notice.facts)
        for notice in notices
        for user_id in notice.user_ids
    ]


# --- the member's side -----------------------------------------------------------------


def my_notifications(
    session: Session, actor: Actor, *, before_id: int | None, limit: int
) -> list[Notification]:
    """The actor's own notifications, newest first (``limit + 1``, to know if more)."""
    query = select(Notification).where(Notification.user_id == actor.user_id)
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))


def count_unread(session: Session, user_id: int) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    session.rollback()
    return count or 0


def unread_count(session: Session, actor: Actor, counts: UnreadCounts) -> int:
    return counts.get(actor.user_id, lambda: count_unread(session, actor.user_id))


def mark_read(
    uow: UnitOfWork,
    actor: Actor,
    counts: UnreadCounts,
    *,
    ids: Sequence[int] | None,
    now: datetime,
) -> int:
    """Mark the actor's notifications read: ``ids``, or all with None. An id that is
    not one of the actor's is 404 and nothing changes. Returns how many were unread."""
    with uow:
        if ids is not None:
            wanted = set(ids)
            mine = set(
                uow.session.scalars(
                    select(Notification.id).where(
                        Notification.id.in_(wanted), Notification.user_id == actor.user_id
                    )
                )
            )
            if mine != wanted:
                missing = sorted(wanted - mine)
                raise NotFound(
                    "notification not found", errors={"ids": [f"no notification {missing[0]}"]}
                )
        statement = update(NOTIFICATION_TABLE).where(
            NOTIFICATION_TABLE.c.user_id == actor.user_id, NOTIFICATION_TABLE.c.read_at.is_(None)
        )
        if ids is not None:
            statement = statement.where(NOTIFICATION_TABLE.c.id.in_(list(ids)))
        changed = rows_changed(uow.session.execute(statement.values(read_at=now)))
        uow.commit()
    if changed:
        counts.changed([actor.user_id])
    return changed


def receive(
    session: Session, told: Sequence[Told], templates: Templates, counts: UnreadCounts
) -> None:
    """Write and commit ``told``, then tell Redis whose counts changed (an outbox
    handler: its message is marked handled after this, and redelivery writes nothing)."""
    touched = write_notifications(session, told, templates, utcnow())
    session.commit()
    counts.changed(touched)
