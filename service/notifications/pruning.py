"""Forgetting old read notifications (scheduled nightly): the inbox is for what is
news, and what happened stays in the ledger, the timelines and the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.notifications.models import MESSAGE_TABLE, NOTIFICATION_TABLE, Notification
from service.unit_of_work import UnitOfWork

BATCH = 1_000


def prune_read(uow: UnitOfWork, now: datetime, keep_days: int) -> int:
    """Delete notifications read more than ``keep_days`` ago (with their WeChat
    message), a batch per transaction so no lock is held long; unread ones stay."""
    with uow:
        return _prune(uow.session, now - timedelta(days=keep_days))


def _prune(session: Session, before: datetime) -> int:
    pruned = 0
    while True:
        ids = list(
            session.scalars(
                select(Notification.id)
                .where(Notification.read_at.is_not(None), Notification.read_at < before)
                .order_by(Notification.id)
                .limit(BATCH)
            )
        )
        if not ids:
            session.rollback()
            return pruned
        session.execute(delete(MESSAGE_TABLE).where(MESSAGE_TABLE.c.notification_id.in_(ids)))
        session.execute(delete(NOTIFICATION_TABLE).where(NOTIFICATION_TABLE.c.id.in_(ids)))
        session.commit()
        pruned += len(ids)
