"""The worker's part: send the WeChat messages that are due, each at most once.

A message is claimed (``waiting`` → ``sending``, a conditional UPDATE, with a lease)
in the same transaction that takes one from the member's allowance, and committed
before WeChat is called; the answer is written right after. So two workers never
send one message, and neither does a restart.

The crash window is between WeChat's answer and writing it down. We choose at most
once: a message still ``sending`` when its lease ran out is not sent again by
itself; it becomes a dead letter (``failed``, saying it may have arrived) that an
operator may resend with ``lianxin notifications retry``. The inbox has it anyway.
A send whose answer never came (a read timeout) is treated the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Update, bindparam, func, select, update
from sqlalchemy.orm import Session

from points.notices import Topic
from service.db import rows_changed
from service.notifications import preferences
from service.notifications.models import (
    MESSAGE_TABLE,
    MessageStatus,
    Notification,
    WechatMessage,
)
from service.notifications.templates import Templates
from service.people.models import User
from service.unit_of_work import UnitOfWork
from service.wechat.subscribe import Outcome, SendResult, SubscribeMessage, SubscribeSender

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
# Messages claimed together: few, so a crash strands few, and the lease outlasts them
# all even if each call waits out WeChat's timeout (10 × 5 s < 2 minutes).
CLAIM_GROUP = 10
RETRY_FIRST = timedelta(minutes=1)
RETRY_MOST = timedelta(hours=1)
GIVE_UP_AFTER = 8  # tries while WeChat is busy, then a dead letter

INTERRUPTED = "interrupted while sending: it may have reached the member (resend by hand)"


@dataclass
class SendReport:
    sent: int = 0
    no_quota: int = 0
    refused: int = 0
    retrying: int = 0
    failed: int = 0  # dead letters made this run
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    user_id: int
    template_id: str
    attempts: int
    topic: str
    facts: dict[str, str | int]
    openid: str | None


_CLAIM = (
    update(MESSAGE_TABLE)
    .where(
        MESSAGE_TABLE.c.id.in_(bindparam("ids", expanding=True)),
        MESSAGE_TABLE.c.status == MessageStatus.WAITING.value,
        MESSAGE_TABLE.c.due_at <= bindparam("now"),
    )
    .values(
        status=MessageStatus.SENDING.value,
        attempts=MESSAGE_TABLE.c.attempts + 1,
        due_at=bindparam("lease_until"),
    )
    .returning(MESSAGE_TABLE.c.id, MESSAGE_TABLE.c.user_id, MESSAGE_TABLE.c.template_id)
)


def send_due(
    uow: UnitOfWork,
    sender: SubscribeSender,
    templates: Templates,
    now: datetime,
    batch: int = 200,
) -> SendReport:
    """Send every message due ``now``, a claim and an answer per transaction (on
    SQLite each takes the write lock at its start, so workers wait their turn)."""
    with uow:
        return _send_due(uow.session, sender, templates, now, batch)


def _send_due(
    session: Session, sender: SubscribeSender, templates: Templates, now: datetime, batch: int
) -> SendReport:
    report = SendReport()
    report.failed += settle_interrupted(session, now)
    after = 0
    while True:
        ids = list(
            session.scalars(
                select(WechatMessage.id)
                .where(
                    WechatMessage.status == MessageStatus.WAITING.value,
                    WechatMessage.due_at <= now,
                    WechatMessage.id > after,
                )
                .order_by(WechatMessage.id)
                .limit(batch)
            )
        )
        session.rollback()
        if not ids:
            return report
        after = ids[-1]
        for start in range(0, len(ids), CLAIM_GROUP):
            for message in _claim(session, ids[start : start + CLAIM_GROUP], now, report):
                result = _send(sender, templates, message)
                _settle(session, message, result, now, report)
                outcome = result.outcome.value
                report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1


def _claim(
    session: Session, ids: Sequence[int], now: datetime, report: SendReport
) -> list[_Claimed]:
    """Claim what nobody else did and take one of each member's allowance, together."""
    claimed = session.execute(
        _CLAIM, {"ids": list(ids), "now": now, "lease_until": now + LEASE}
    ).all()
    allowed = []
    for id, user_id, template_id in claimed:
        if preferences.take_one(session, user_id, template_id, now):
            allowed.append(id)
        else:
            session.execute(_finish(id, MessageStatus.NO_QUOTA, None))
            report.no_quota += 1
    rows = session.execute(
        select(
            WechatMessage.id,
            WechatMessage.user_id,
            WechatMessage.template_id,
            WechatMessage.attempts,
            Notification.topic,
            Notification.facts,
            User.openid,
        )
        .join(Notification, Notification.id == WechatMessage.notification_id)
        .join(User, User.id == WechatMessage.user_id)
        .where(WechatMessage.id.in_(allowed))
        .order_by(WechatMessage.id)
    ).all()
    session.commit()
    return [_Claimed(*row) for row in rows]


def _send(sender: SubscribeSender, templates: Templates, message: _Claimed) -> SendResult:
    template = templates.get(Topic(message.topic))
    if template is None or message.openid is None:
        return SendResult(Outcome.FAILED, "no template for this topic, or no openid, any more")
    return sender.send(
        SubscribeMessage(
            openid=message.openid,
            template_id=message.template_id,
            page=template.page_for(message.facts),
            data=template.data(message.facts),
        )
    )


def _finish(id: int, status: MessageStatus, error: str | None, **values: object) -> Update:
    return (
        update(MESSAGE_TABLE)
        .where(MESSAGE_TABLE.c.id == id, MESSAGE_TABLE.c.status == MessageStatus.SENDING.value)
        .values(status=status.value, last_error=error, **values)
    )


def _settle(
    session: Session, message: _Claimed, result: SendResult, now: datetime, report: SendReport
) -> None:
    """Write WeChat's answer down, at once: the shorter the crash window, the better."""
    user_id, template_id = message.user_id, message.template_id
    match result.outcome:
        case Outcome.SENT:
            session.execute(_finish(message.id, MessageStatus.SENT, None, sent_at=now))
            report.sent += 1
        case Outcome.REFUSED:
            session.execute(_finish(message.id, MessageStatus.REFUSED, result.detail))
            preferences.zero(session, user_id, template_id, now)
            report.refused += 1
        case Outcome.BUSY if message.attempts < GIVE_UP_AFTER:
            wait = min(RETRY_FIRST * 2 ** (message.attempts - 1), RETRY_MOST)
            session.execute(
                _finish(message.id, MessageStatus.WAITING, result.detail, due_at=now + wait)
            )
            preferences.give_back(session, user_id, template_id, now)
            report.retrying += 1
        case Outcome.UNKNOWN:
            # It may have arrived, and used the member's allowance with it.
            session.execute(
                _finish(message.id, MessageStatus.FAILED, f"{INTERRUPTED}: {result.detail}")
            )
            report.failed += 1
        case _:
            # 47003 and other refusals of the message itself, or busy too often.
            log.error("WeChat message %d not sent: %s", message.id, result.detail)
            session.execute(_finish(message.id, MessageStatus.FAILED, result.detail))
            preferences.give_back(session, user_id, template_id, now)
            report.failed += 1
    session.commit()


def settle_interrupted(session: Session, now: datetime) -> int:
    """Dead-letter the messages whose sender died mid-send (at most once: see above)."""
    changed = rows_changed(
        session.execute(
            update(MESSAGE_TABLE)
            .where(
                MESSAGE_TABLE.c.status == MessageStatus.SENDING.value,
                MESSAGE_TABLE.c.due_at <= now,
            )
            .values(status=MessageStatus.FAILED.value, last_error=INTERRUPTED)
        )
    )
    session.commit()
    if changed:
        log.warning("WeChat messages: %d interrupted mid-send, now dead letters", changed)
    return changed


def retry_failed(session: Session, now: datetime) -> int:
    """Put dead letters back in line, due now, with their tries counted afresh."""
    changed = rows_changed(
        session.execute(
            update(MESSAGE_TABLE)
            .where(MESSAGE_TABLE.c.status == MessageStatus.FAILED.value)
            .values(status=MessageStatus.WAITING.value, attempts=0, due_at=now)
        )
    )
    session.commit()
    return changed


def message_counts(session: Session) -> dict[str, int]:
    counts = dict(
        session.execute(
            select(WechatMessage.status, func.count()).group_by(WechatMessage.status)
        ).all()
    )
    session.rollback()
    return {status.value: counts.get(status.value, 0) for status in MessageStatus}
