from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow


class Department(Base):
    """A government body (区委组织部, 区民政局 …) whose party branch serves communities."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Branch(Base):
    """A party branch (党支部): of a department (机关支部) or of a place (社区/网格党支部)."""

    __tablename__ = "branch"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("(department_id IS NULL) <> (place_id IS NULL)", name="one_owner"),
        UniqueConstraint("department_id", "name"),
        UniqueConstraint("place_id", "name"),
    )


class Pairing(Base):
    """结对共建 / 百部联百村: a department paired with a community from a date."""

    __tablename__ = "pairing"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("department_id", "place_id", "started_on"),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="ends_after_start"),
    )


class Station(Base):
    """A place where points are spent: 小蜜蜂驿站, 党群服务中心, 爱心超市. Clerks are
    people holding role ``clerk`` granted on the station. Here beside the branches and
    departments because, like them, a station is something a role is granted on; what
    it offers and hands out is the stations feature's."""

    __tablename__ = "station"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float] = mapped_column(Float)  # GCJ-02
    lng: Mapped[float] = mapped_column(Float)
    opening_hours: Mapped[str] = mapped_column(String(200), default="")  # "周一至周五 9:00-17:00"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# The tables as Core sees them, for the statements hot paths build once.
BRANCH_TABLE = cast(Table, Branch.__table__)
STATION_TABLE = cast(Table, Station.__table__)
