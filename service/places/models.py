from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from points.places import PlaceLevel
from service.db import Base, UTCDateTime, utcnow

_LEVELS = ", ".join(f"'{level.value}'" for level in PlaceLevel)


class Place(Base):
    """A node of the place tree (组织/地点), at any depth (points/places.py). ``path`` is
    the materialised path of ids, ``/1/2/5/``, so a subtree is one indexed prefix match
    on either backend."""

    __tablename__ = "place"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("parent_id", "name"),
        CheckConstraint(f"level IN ({_LEVELS})", name="level"),
        # text_pattern_ops lets PostgreSQL use the index for LIKE '/1/2/%' under any collation.
        Index("ix_place_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    @property
    def place_level(self) -> PlaceLevel:
        return PlaceLevel(self.level)


# The tables as Core sees them, for the statements hot paths build once.
PLACE_TABLE = cast(Table, Place.__table__)
