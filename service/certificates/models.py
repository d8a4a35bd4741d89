from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, UTCDateTime


class Certificate(Base):
    """A 志愿服务证明 as issued: who, by whom, for which days, with what it certified
    copied in, so the document reads the same however the records move later. Only a
    reversal of a service it lists changes it, by marking it superseded."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    first_day: Mapped[date] = mapped_column(Date)  # Beijing days, both included
    last_day: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_on: Mapped[date] = mapped_column(Date)  # the local day, as printed
    # The community the holder lived in at issue (staff there may read it), by name too
    # since a place may be renamed after.
    issuer_place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    issuer_name: Mapped[str] = mapped_column(String(100))
    holder_name: Mapped[str] = mapped_column(String(64))
    holder_contact: Mapped[str] = mapped_column(String(32), default="")  # masked phone
    service_count: Mapped[int] = mapped_column(Integer)
    total_hours: Mapped[Decimal] = mapped_column(Numeric(9, 2))
    # Of the total, the hours staff entered after the fact (补录): the certificate states
    # them apart from the verified ones, as the national platforms do.
    entered_hours: Mapped[Decimal] = mapped_column(
        Numeric(9, 2), default=Decimal("0.00"), server_default=text("0")
    )
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    services: Mapped[list[CertificateService]] = relationship(
        order_by="CertificateService.position", viewonly=True
    )

    @property
    def verified_hours(self) -> Decimal:
        return self.total_hours - self.entered_hours

    __table_args__ = (
        # One certificate in force per person and period: asking twice, or twice at
        # once, gets the same one back; once a reversal superseded it, a new one may be
        # issued for the same days.
        Index(
            "uq_certificate_current_period",
            "user_id",
            "first_day",
            "last_day",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        CheckConstraint("first_day <= last_day", name="period_in_order"),
        CheckConstraint("service_count > 0", name="certifies_something"),
    )


class CertificateService(Base):
    """One service a certificate lists, as it stood at issue."""

    __tablename__ = "certificate_service"

    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), primary_key=True)
    participation_id: Mapped[int] = mapped_column(ForeignKey("participation.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    served_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(16))
    organisation: Mapped[str] = mapped_column(String(100))
    place: Mapped[str] = mapped_column(String(200))
    hours: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    manual_entry: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # A reversal finds the certificates its participation is on.
    __table_args__ = (Index("ix_certificate_service_participation_id", "participation_id"),)
