"""One row per checked text or photo that is not simply passed: what it is, whose,
where, and where it stands (points/content.py's ReviewStatus)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from points.content import ReviewStatus
from service.db import Base, UTCDateTime

_STATUSES = ", ".join(repr(status.value) for status in ReviewStatus)


class ContentReview(Base):
    """A text is kept here only when it is held (WeChat said review); a photo always,
    from upload, since its verdict arrives later. ``subject`` and ``subject_id`` name
    what was checked (``demand`` 12's ``description``, ``upload`` 40); a photo's
    ``used_in`` names the demand, submission or visit it was handed in with, so a
    quarantined photo flags that work for its staff. ``place_id`` is where the staff
    who may see and release it work (None: a photo not yet handed in, its owner's)."""

    __tablename__ = "content_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(32), default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    status: Mapped[str] = mapped_column(String(16))
    label: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32), default="")  # held without a verdict
    trace_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    used_in: Mapped[str | None] = mapped_column(String(16))
    used_in_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status"),
        Index("ix_content_review_subject", "subject", "subject_id"),
        Index("ix_content_review_place_status", "place_id", "status"),
    )
