from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from points.demands import (
    DemandAction,
    DemandLevel,
    DemandOrder,
    DemandStatus,
    LimitUnit,
    OwnerKind,
    Stage,
    WhistleOutcome,
)
from points.rules import Category
from service.db import Base, UTCDateTime, utcnow


def _one_of(column: str, values: type[StrEnum], *more: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in [*(v.value for v in values), *more])})"


# The demand's open states, for the partial index of what may fall overdue.
_OPEN = ", ".join(repr(status.value) for status in DemandStatus if status.open)


class Demand(Base):
    """A resident's demand or a reported problem (居民诉求 / 问题上报)."""

    __tablename__ = "demand"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"))
    category: Mapped[str] = mapped_column(String(16))  # 八微
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(200), default="")
    upload_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # 移动探头: where the problem was seen (GCJ-02, rounded to about 10 m), if said.
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("demand.id"))
    # 点单: a delivery or errand ordered for a household of the register, and whom it
    # serves (one of its residents, when staff linked them). ``proxy``: filed by
    # someone else on the household's behalf (代办), so the reporter is not the one served.
    order_kind: Mapped[str | None] = mapped_column(String(16))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    served_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    proxy: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reporter_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    # The role they reported in, fixed when they report: it prices an accepted report.
    reporter_role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=DemandStatus.SUBMITTED.value)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    level: Mapped[str | None] = mapped_column(String(16))  # 三事分流, from 立项 on
    # 交办: who has it now (one of the owner columns goes with the kind).
    owner_kind: Mapped[str | None] = mapped_column(String(16))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    owner_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    owner_task_id: Mapped[int | None] = mapped_column(Integer)  # the task, when a task has it
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(Text)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    whistled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # 报到
    resolution: Mapped[str | None] = mapped_column(Text)  # what was done, told to the reporter
    resolution_upload_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 公示: what the public list says, written for it by staff: no name, phone or door.
    public_summary: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The deadline of each stage once it began, and the one the demand waits on now.
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledge_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_stage: Mapped[str | None] = mapped_column(String(16))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Each step moves it on by one, in the UPDATE's WHERE: of two staff acting at once,
    # one moves the demand and the other is told it changed (steps that keep the
    # status, as escalating or reassigning, race like the rest).
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # 群众来评判, read with the demand (lists load them in one more query).
    rating: Mapped[DemandRating | None] = relationship(lazy="selectin", uselist=False)

    __table_args__ = (
        CheckConstraint(_one_of("category", Category), name="category"),
        CheckConstraint(_one_of("status", DemandStatus), name="status"),
        CheckConstraint(f"level IS NULL OR {_one_of('level', DemandLevel)}", name="level"),
        CheckConstraint(
            f"order_kind IS NULL OR {_one_of('order_kind', DemandOrder)}", name="order_kind"
        ),
        CheckConstraint(
            f"owner_kind IS NULL OR {_one_of('owner_kind', OwnerKind)}", name="owner_kind"
        ),
        Index("ix_demand_place_status", "place_id", "status"),
        # The sweep and the overdue list read open demands by deadline.
        Index(
            "ix_demand_due",
            "due_at",
            postgresql_where=text(f"status IN ({_OPEN})"),
            sqlite_where=text(f"status IN ({_OPEN})"),
        ),
        Index("ix_demand_owner_department", "owner_department_id"),
        # The problem list, newest first, reads along it and stops at a page.
        Index("ix_demand_created", "created_at", "id"),
    )


class DemandEvent(Base):
    """One step of a demand's history (its timeline): who did what, when, and why."""

    __tablename__ = "demand_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    # An action of the loop, or "report" (sent in), "overdue" (the sweep's note) and
    # "rate" (a resident's rating).
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            _one_of("action", DemandAction, "report", "overdue", "rate"), name="action"
        ),
    )


class DemandOverdue(Base):
    """A stage of a demand that passed its deadline, noted once by the sweep."""

    __tablename__ = "demand_overdue"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"))
    stage: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("demand_id", "stage"),
        CheckConstraint(_one_of("stage", Stage), name="stage"),
    )


class DemandRating(Base):
    """群众来评判: the resident's rating of what was done, one per demand."""

    __tablename__ = "demand_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), unique=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score"),)


class DemandWhistle(Base):
    """One whistle (吹哨) of a demand to a department, and how the department answered:
    what 报到率 and the department's statistics count."""

    __tablename__ = "demand_whistle"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    whistled_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    whistled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledge_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        CheckConstraint(f"outcome IS NULL OR {_one_of('outcome', WhistleOutcome)}", name="outcome"),
        Index("ix_demand_whistle_department", "department_id", "whistled_at"),
    )


class DemandLimit(Base):
    """A deadline staff set for a stage: for one level or all (""), one category or
    all (""); the most specific one applies (points.demands.limit_for)."""

    __tablename__ = "demand_limit"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(16))
    # "" for every level or category: NULLs would not meet in the unique constraint.
    level: Mapped[str] = mapped_column(String(16), default="")
    category: Mapped[str] = mapped_column(String(16), default="")
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16))
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("stage", "level", "category"),
        CheckConstraint(_one_of("stage", Stage), name="stage"),
        CheckConstraint(_one_of("level", DemandLevel, ""), name="level"),
        CheckConstraint(_one_of("category", Category, ""), name="category"),
        CheckConstraint(_one_of("unit", LimitUnit), name="unit"),
        CheckConstraint("amount BETWEEN 1 AND 365", name="amount"),
    )


DEMAND_TABLE = cast(Table, Demand.__table__)
WHISTLE_TABLE = cast(Table, DemandWhistle.__table__)
