from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow


class IdempotencyRecord(Base):
    """The first response to one caller's key. Written in the same transaction as the
    work it describes, so a key either has its work and its response or neither."""

    __tablename__ = "idempotency_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # of method, path and body
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # The index is the lock: a concurrent duplicate waits on it, then replays.
    __table_args__ = (UniqueConstraint("actor_id", "key"),)


# The tables as Core sees them, for the statements hot paths build once.
RECORD_TABLE = cast(Table, IdempotencyRecord.__table__)
