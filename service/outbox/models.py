"""The outbox: events a transaction recorded, kept in it, for whoever must hear of them
after commit (a board to redo, a notification to send) even if the process dies
before telling them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    """One recorded event, written in the transaction that recorded it. Handed out at
    least once: right after commit by the process that wrote it, else by the sweeper
    once its lease ran out. ``handled_at`` says it is done; ``failed_at`` that it failed
    too often to try again unasked (``lianxin outbox retry``)."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Not before then: the writer's lease on a new message, a claimer's on one it is
    # handling, or the back-off after a failure. Claiming is a conditional UPDATE of it.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # The sweeper reads only what waits, soonest due first.
        Index(
            "ix_outbox_message_waiting",
            "due_at",
            "id",
            postgresql_where=text("handled_at IS NULL AND failed_at IS NULL"),
            sqlite_where=text("handled_at IS NULL AND failed_at IS NULL"),
        ),
    )


OUTBOX_TABLE = cast(Table, OutboxMessage.__table__)
