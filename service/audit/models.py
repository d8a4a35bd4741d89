from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One change of rights, or one decision that moved points (or rules they depend
    on); written in the same transaction as the change, never updated.

    ``place_id`` is where it happened, which decides who reads it: the place of the
    work, of the member whose points moved, of the grant's scope, of the station.
    None for what concerns the whole organisation (a department's grants), read at
    the root. ``request_id`` ties it to the request's log lines (None from the CLI)."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    request_id: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        Index("ix_audit_entry_object", "object_type", "object_id"),
        Index("ix_audit_entry_place", "place_id", "id"),
    )

    @property
    def kind(self) -> str:
        return self.action.partition(".")[0]


AUDIT_TABLE = cast(Table, AuditEntry.__table__)
