from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
    true,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from points.households import VisitStatus
from service.db import Base, UTCDateTime, utcnow
from service.people.models import User

_VISIT_STATUSES = ", ".join(repr(s.value) for s in VisitStatus)


class HouseholdVisit(Base):
    """A visit (走访) one person made to one household, confirmed by staff."""

    __tablename__ = "household_visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    # The role they visited in (党员 or 志愿者): it prices the visit.
    role: Mapped[str] = mapped_column(String(16))
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime())
    visit_day: Mapped[date] = mapped_column(Date)  # local day, for one credit a day
    note: Mapped[str] = mapped_column(Text, default="")
    # Photos, by upload id; the uploads feature owns what they point at.
    upload_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=VisitStatus.SUBMITTED.value)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reject_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Who visited, by the name they go by now: read only where asked for (the history).
    visitor_name: Mapped[str] = column_property(
        select(User.name).where(User.id == visitor_id).scalar_subquery(), deferred=True
    )

    __table_args__ = (
        CheckConstraint(f"status IN ({_VISIT_STATUSES})", name="status"),
        Index("ix_household_visit_status", "status", "created_at"),
        Index("ix_household_visit_household_day", "household_id", "visitor_id", "visit_day"),
        # The database's word on "one credited visit per household, visitor and day",
        # whatever races past the use case's check.
        Index(
            "uq_household_visit_confirmed_per_day",
            "household_id",
            "visitor_id",
            "visit_day",
            unique=True,
            sqlite_where=text("status = 'confirmed'"),
            postgresql_where=text("status = 'confirmed'"),
        ),
    )


class Household(Base):
    """A household (户) on the register: where it is and what it needs, nothing more.

    Personal data is kept to what a visitor needs to find the door and know whom to ask
    for; no phone numbers or ID numbers live here."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"))  # usually a grid
    label: Mapped[str] = mapped_column(String(64))  # the door, e.g. "3栋2单元401"
    head_name: Mapped[str | None] = mapped_column(String(64))  # 户主
    needs: Mapped[str] = mapped_column(Text, default="")  # e.g. 独居老人, 行动不便
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When someone last visited, by the visits staff confirmed; None if nobody has. Read
    # from the visits each time, so it can't drift from them.
    last_visited_at: Mapped[datetime | None] = column_property(
        select(func.max(HouseholdVisit.visited_at))
        .where(
            HouseholdVisit.household_id == id,
            HouseholdVisit.status == VisitStatus.CONFIRMED.value,
        )
        .correlate_except(HouseholdVisit)
        .scalar_subquery()
    )

    __table_args__ = (
        UniqueConstraint("place_id", "label"),
        Index("ix_household_place_active", "place_id", "active"),
    )


class ParticipationHousehold(Base):
    """Which households a participation's work reached (敲门入户: the households visited)."""

    __tablename__ = "participation_household"

    participation_id: Mapped[int] = mapped_column(
        ForeignKey("participation.id", ondelete="CASCADE"), primary_key=True
    )
    household_id: Mapped[int] = mapped_column(
        ForeignKey("household.id"), primary_key=True, index=True
    )


class HouseholdResident(Base):
    """Someone who lives in a household (住户), as staff keep it: whom a delivery to the
    household serves, and who may rate the work that reached it."""

    __tablename__ = "household_resident"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("household_id", "user_id"),)


class HouseholdPairing(Base):
    """党员联户 (1+10+N, 结对认亲): a party member looks after a household from a day,
    until the pairing ends. Ended pairings are kept: coverage of a past quarter reads them."""

    __tablename__ = "household_pairing"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="ends_after_start"),
        # One running pairing of a member with a household; a new one after it ended.
        Index(
            "ux_household_pairing_running",
            "household_id",
            "member_id",
            unique=True,
            postgresql_where=text("ended_on IS NULL"),
            sqlite_where=text("ended_on IS NULL"),
        ),
    )
