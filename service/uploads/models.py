"""Uploaded photos, and which submission each belongs to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow


class Upload(Base):
    """One stored photo. The file lives in the upload store under ``storage_name``, a
    random name that says nothing about who sent it or what it shows."""

    __tablename__ = "upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ParticipationPhoto(Base):
    """A photo handed in with a participation's submission; a photo belongs to one."""

    __tablename__ = "participation_photo"

    participation_id: Mapped[int] = mapped_column(ForeignKey("participation.id"), primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("upload.id"), primary_key=True, unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
