"""The inbox, what each member wants sent to WeChat, their subscribe-message quotas,
and the WeChat messages themselves (one per notification at most)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime

_BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class Notification(Base):
    """One thing a member was told. ``source`` is the cause (a participation's approval,
    a reminder for one sign-up): unique per member, so telling twice keeps one."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    page: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("user_id", "source"),
        # The inbox newest first; the unread count rebuilt from the unread ones.
        Index("ix_notification_user_newest", "user_id", "id"),
        Index(
            "ix_notification_unread",
            "user_id",
            postgresql_where=text("read_at IS NULL"),
            sqlite_where=text("read_at IS NULL"),
        ),
        Index(
            "ix_notification_read_at",
            "read_at",
            postgresql_where=text("read_at IS NOT NULL"),
            sqlite_where=text("read_at IS NOT NULL"),
        ),
    )


class NotificationSetting(Base):
    """A member's choice for one topic: WeChat messages or inbox only (no row: WeChat)."""

    __tablename__ = "notification_setting"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    wechat: Mapped[bool] = mapped_column(Boolean)


class SubscriptionQuota(Base):
    """How many messages of a one-time template the member allowed and we have not sent
    yet: one more per ``accept``, one less per send, only by conditional UPDATE."""

    __tablename__ = "subscription_quota"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    template_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    remaining: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("remaining >= 0", name="remaining_not_negative"),)


class MessageStatus(StrEnum):
    WAITING = "waiting"  # to send when due
    SENDING = "sending"  # claimed: a worker is calling WeChat (see sending.py)
    SENT = "sent"
    NO_QUOTA = "no_quota"  # the member allowed no message of the template: inbox only
    REFUSED = "refused"  # WeChat said the member refused (43101): quota zeroed
    FAILED = "failed"  # dead letter: `lianxin notifications retry` sends it again


class WechatMessage(Base):
    """The subscribe message of a notification: unique per notification, so each one
    (event, member) is claimed, and sent, by one worker at most."""

    __tablename__ = "wechat_message"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.WAITING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Waiting: not before then. Sending: the claim's lease.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "ix_wechat_message_open",
            "status",
            "due_at",
            postgresql_where=text("status IN ('waiting', 'sending')"),
            sqlite_where=text("status IN ('waiting', 'sending')"),
        ),
    )


NOTIFICATION_TABLE = cast(Table, Notification.__table__)
SETTING_TABLE = cast(Table, NotificationSetting.__table__)
QUOTA_TABLE = cast(Table, SubscriptionQuota.__table__)
MESSAGE_TABLE = cast(Table, WechatMessage.__table__)
