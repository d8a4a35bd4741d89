from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from points.demands import DemandStatus
from points.rules import Category
from service.db import Base, UTCDateTime, utcnow


def _one_of(column: str, values: type[DemandStatus] | type[Category]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Demand(Base):
    """A resident's demand or a reported problem (居民诉求 / 问题上报)."""

    __tablename__ = "demand"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"))
    category: Mapped[str] = mapped_column(String(16))  # 八微
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(200), default="")
    upload_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    # The role they reported in, fixed when they report: it prices an accepted report.
    reporter_role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=DemandStatus.SUBMITTED.value)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)  # what was done, told to the reporter
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint(_one_of("category", Category), name="category"),
        CheckConstraint(_one_of("status", DemandStatus), name="status"),
        Index("ix_demand_place_status", "place_id", "status"),
    )
