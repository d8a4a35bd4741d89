from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from points.access import Role, ScopeType
from service.db import Base, UTCDateTime, utcnow


def _one_of(column: str, values: type[Role] | type[ScopeType]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class User(Base):
    """Anyone who signs in. ``openid`` is the WeChat mini-program identity; console-only
    staff may have none."""

    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    residence_place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", order_by="RoleGrant.id", cascade="all, delete-orphan"
    )


class RoleGrant(Base):
    """A role held on an object (a place node, department, branch or station) and its subtree."""

    __tablename__ = "role_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    scope_type: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[int] = mapped_column(Integer)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="grants")

    __table_args__ = (
        UniqueConstraint("user_id", "role", "scope_type", "scope_id"),
        CheckConstraint(_one_of("role", Role), name="role"),
        CheckConstraint(_one_of("scope_type", ScopeType), name="scope_type"),
    )
