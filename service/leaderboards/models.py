from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow


class LeaderboardEvent(Base):
    """The outbox between the ledger and the Redis leaderboards: one row per transfer
    that changes what a member has earned, written in the transfer's transaction and
    marked applied once Redis has it. Redis is derived; this row is what says it must
    be told."""

    __tablename__ = "leaderboard_outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    currency: Mapped[str] = mapped_column(String(16))
    delta: Mapped[int] = mapped_column(BigInteger)  # negative for a reversal
    # When the points were earned: a reversal takes them back from that period's boards.
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # The sweeper reads only what is not applied yet, oldest first.
        Index(
            "ix_leaderboard_outbox_pending",
            "id",
            postgresql_where=text("applied_at IS NULL"),
            sqlite_where=text("applied_at IS NULL"),
        ),
    )
