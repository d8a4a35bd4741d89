from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from points.recurrence import Frequency, SeriesSignupStatus, SeriesStatus
from points.rules import Category, TaskType, WorkUnit
from points.tasks import Audience, CheckinMode, ParticipationStatus, TaskStatus
from service.db import Base, UTCDateTime, utcnow
from service.households.models import Household

if TYPE_CHECKING:
    from service.people.models import User
    from service.uploads.models import ParticipationPhoto


def _one_of(column: str, values: Iterable[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class TaskSeries(Base):
    """A recurring task (周期任务): the template each occurrence is posted from, and when
    they fall (points.recurrence). Occurrences are ordinary tasks with ``series_id``."""

    __tablename__ = "task_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    audience: Mapped[str] = mapped_column(String(16))
    checkin_mode: Mapped[str] = mapped_column(String(16))
    work_unit: Mapped[str] = mapped_column(String(20))
    frequency: Mapped[str] = mapped_column(String(16))
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)  # 0 Monday … 6 Sunday
    interval_days: Mapped[int | None] = mapped_column(Integer)
    first_date: Mapped[date] = mapped_column(Date)  # local days, as people plan them
    start_time: Mapped[time] = mapped_column(Time)  # local wall time
    duration_minutes: Mapped[int] = mapped_column(Integer)
    until: Mapped[date | None] = mapped_column(Date)
    count: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=SeriesStatus.ACTIVE.value)
    end_reason: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(_one_of("category", Category), name="category"),
        CheckConstraint(_one_of("type", TaskType), name="type"),
        CheckConstraint(_one_of("audience", Audience), name="audience"),
        CheckConstraint(_one_of("checkin_mode", CheckinMode), name="checkin_mode"),
        CheckConstraint(_one_of("work_unit", WorkUnit), name="work_unit"),
        CheckConstraint(_one_of("frequency", Frequency), name="frequency"),
        CheckConstraint(_one_of("status", SeriesStatus), name="status"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("radius_m > 0", name="radius_positive"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        Index("ix_task_series_place_status", "place_id", "status"),
    )


class SeriesSignup(Base):
    """A member signed up for a whole series: each occurrence, as it is posted, signs
    them up by the ordinary rules (a full one puts them on its waitlist)."""

    __tablename__ = "task_series_signup"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("task_series.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=SeriesSignupStatus.ACTIVE.value)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("series_id", "user_id"),
        CheckConstraint(_one_of("status", SeriesSignupStatus), name="status"),
    )


class Task(Base):
    """A piece of service at a place and time."""

    __tablename__ = "task"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16))  # 八微
    type: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float] = mapped_column(Float)  # GCJ-02, as the mini-program reports it
    lng: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    signed_up_count: Mapped[int] = mapped_column(Integer, default=0)
    audience: Mapped[str] = mapped_column(String(16))
    checkin_mode: Mapped[str] = mapped_column(String(16))
    work_unit: Mapped[str] = mapped_column(String(20))
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demand.id"))  # the demand it serves
    # The household it is for (送菜上门 to one door): work handed in reaches it.
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.DRAFT.value)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Each edit moves the version on, and only the version it was made against: two
    # edits made at once can't both land (see service/tasks/editing.py).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last edit
    # An occurrence of a series, on this local day: posted once per day by the unique
    # key, however many generators run at once.
    series_id: Mapped[int | None] = mapped_column(ForeignKey("task_series.id"))
    occurrence_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("series_id", "occurrence_date", name="uq_task_series_occurrence"),
        CheckConstraint(
            "(series_id IS NULL) = (occurrence_date IS NULL)", name="occurrence_of_series"
        ),
        CheckConstraint(_one_of("category", Category), name="category"),
        CheckConstraint(_one_of("type", TaskType), name="type"),
        CheckConstraint(_one_of("audience", Audience), name="audience"),
        CheckConstraint(_one_of("checkin_mode", CheckinMode), name="checkin_mode"),
        CheckConstraint(_one_of("work_unit", WorkUnit), name="work_unit"),
        CheckConstraint(_one_of("status", TaskStatus), name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity > 0 AND signed_up_count BETWEEN 0 AND capacity", name="seats"),
        CheckConstraint("radius_m > 0", name="radius_positive"),
        Index("ix_task_place_status", "place_id", "status"),
        Index("ix_task_starts_at", "starts_at"),
    )


class TaskChange(Base):
    """One edit of a task: what each field was and became, who changed it and why, so
    that those signed up can see what changed since they did. Never updated."""

    __tablename__ = "task_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"))
    version: Mapped[int] = mapped_column(Integer)  # the task's version the edit made
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # {field: {"before": ..., "after": ...}}, fields as the API names them
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("task_id", "version"),)


class Participation(Base):
    """One person's part in one task, from sign-up to approval (or its reversal)."""

    __tablename__ = "participation"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ParticipationStatus.SIGNED_UP.value)
    # The role they serve in (党员 or 志愿者), fixed at sign-up: it prices the work.
    role: Mapped[str] = mapped_column(String(16))
    signed_up_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # While offered a place from the waitlist: until when it is held for them.
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hours: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    # What check-in measured (the distance and how sure the phone was), not where the
    # person was: no location track is kept.
    checkin_distance_m: Mapped[float | None] = mapped_column(Float)
    checkin_accuracy_m: Mapped[float | None] = mapped_column(Float)
    code_step: Mapped[int | None] = mapped_column(BigInteger)  # a code is used once
    # When the server heard of a check-in or check-out taken offline: checked_in_at and
    # checked_out_at hold the phone's stated times, and the approver sees both. Null when
    # it came in online (then the server's clock stamped it).
    checkin_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checkout_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_checkins: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)  # shown to the approver
    note: Mapped[str | None] = mapped_column(Text)
    units: Mapped[int | None] = mapped_column(Integer)  # households visited, residents helped
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reject_reason: Mapped[str | None] = mapped_column(Text)
    # 爽约: when the task ended with them signed up and never checked in; kept when
    # staff excuse it, with who did, when and why.
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    excused_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    excused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    excuse_reason: Mapped[str | None] = mapped_column(Text)
    # 补录: who entered the work after the fact (NULL: measured by check-in and
    # check-out), why, and whether someone else must approve it. Reports split verified
    # from entered hours on ``entered_by_id``; the note holds the written evidence.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    entry_reason: Mapped[str | None] = mapped_column(Text)
    needs_second_staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Loaded only where work is reviewed (submit, the approvals queue): check-in and
    # the other steps never touch it.
    photos: Mapped[list[ParticipationPhoto]] = relationship(
        order_by="ParticipationPhoto.position", viewonly=True
    )
    # The households the work reached, for the approver (see ParticipationHousehold).
    households: Mapped[list[Household]] = relationship(
        secondary="participation_household", viewonly=True, order_by="Household.id"
    )
    # For a reviewer, who needs the task's title and the member's name beside the work:
    # filled only by a query that joins them (contains_eager), never loaded on its own.
    task: Mapped[Task] = relationship(viewonly=True, lazy="raise")
    member: Mapped[User] = relationship(foreign_keys=[user_id], viewonly=True, lazy="raise")

    @property
    def manual_entry(self) -> bool:
        return self.entered_by_id is not None

    @property
    def household_ids(self) -> list[int]:
        return [household.id for household in self.households]

    __table_args__ = (
        UniqueConstraint("task_id", "user_id"),
        CheckConstraint(_one_of("status", ParticipationStatus), name="status"),
        Index("ix_participation_task_status", "task_id", "status"),
        # The sweep's look for lapsed offers reads only offered rows.
        Index(
            "ix_participation_offer_expires_at",
            "offer_expires_at",
            postgresql_where=text("status = 'offered'"),
            sqlite_where=text("status = 'offered'"),
        ),
        # The no-show sweep reads only plain sign-ups (those of tasks not yet over, and
        # the ones it is about to mark).
        Index(
            "ix_participation_signed_up_task",
            "task_id",
            postgresql_where=text("status = 'signed_up'"),
            sqlite_where=text("status = 'signed_up'"),
        ),
        # Counting someone's no-shows in the window on every sign-up.
        Index(
            "ix_participation_no_show",
            "user_id",
            "no_show_at",
            postgresql_where=text("status = 'no_show'"),
            sqlite_where=text("status = 'no_show'"),
        ),
    )


class NoShowPolicy(Base):
    """The no-show policy (爽约规则) a place keeps for itself and the places below it,
    over the built-in default; ``active`` false turns it off there."""

    __tablename__ = "no_show_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), unique=True)
    max_no_shows: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("max_no_shows > 0 AND window_days > 0", name="positive"),)


class ParticipationRating(Base):
    """群众来评判 of task work: a resident of a household the work reached rates it, once
    per household, 1 to 5 with a short comment. A low one asks staff to look at the
    approved work again (核查); they keep it (``reviewed_at``) or reverse it."""

    __tablename__ = "participation_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    participation_id: Mapped[int] = mapped_column(ForeignKey("participation.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("participation_id", "household_id"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
    )


# The tables as Core sees them, for the statements hot paths build once.
PARTICIPATION_TABLE = cast(Table, Participation.__table__)
TASK_TABLE = cast(Table, Task.__table__)
