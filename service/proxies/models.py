from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, column_property, mapped_column

from points.proxies import ConsentMethod, LinkStatus, ProxyDeed
from service.db import Base, UTCDateTime
from service.people.models import User


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class ProxyLink(Base):
    """代办人: who may act for a person, on what consent, from when until when."""

    __tablename__ = "proxy_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    proxy_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    relation: Mapped[str] = mapped_column(String(32), default="")  # e.g. 女儿, 联户党员
    # The consent, as staff recorded it: how it was given, any note, and a photo of the
    # signed form if there is one.
    consent_method: Mapped[str] = mapped_column(String(16))
    consent_note: Mapped[str] = mapped_column(Text, default="")
    consent_upload_id: Mapped[int | None] = mapped_column(ForeignKey("upload.id"))
    consent_given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=LinkStatus.ACTIVE.value)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    end_reason: Mapped[str] = mapped_column(Text, default="")
    subject_name: Mapped[str] = column_property(
        select(User.name).where(User.id == subject_id).correlate_except(User).scalar_subquery()
    )
    proxy_name: Mapped[str] = column_property(
        select(User.name).where(User.id == proxy_id).correlate_except(User).scalar_subquery()
    )

    @property
    def consent(self) -> dict[str, Any]:
        """The consent as one record, the way it is shown."""
        return {
            "method": self.consent_method,
            "given_at": self.consent_given_at,
            "note": self.consent_note,
            "upload_id": self.consent_upload_id,
        }

    __table_args__ = (
        CheckConstraint(_one_of("consent_method", ConsentMethod), name="consent_method"),
        CheckConstraint(_one_of("status", LinkStatus), name="status"),
        CheckConstraint("subject_id <> proxy_id", name="not_self"),
        # One running link per pair: a second is a conflict, not a duplicate.
        Index(
            "uq_proxy_link_active_pair",
            "subject_id",
            "proxy_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )


class ProxyAct(Base):
    """One thing a proxy did for the person, under which link: the history both of
    them see ("由 X 代办")."""

    __tablename__ = "proxy_act"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("proxy_link.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    deed: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(16))  # "demand" or "redemption"
    object_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_name: Mapped[str] = column_property(
        select(User.name).where(User.id == actor_id).correlate_except(User).scalar_subquery()
    )
    subject_name: Mapped[str] = column_property(
        select(User.name).where(User.id == subject_id).correlate_except(User).scalar_subquery()
    )

    __table_args__ = (
        CheckConstraint(_one_of("deed", ProxyDeed), name="deed"),
        Index("ix_proxy_act_object", "object_type", "object_id"),
    )
