from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    false,
    text,
    true,
)
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
    unionid: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    avatar_url: Mapped[str | None] = mapped_column(String(512))
    # 双报到: where a member lives, and the branch they belong to (maybe a department's).
    residence_place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    home_branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"), index=True)
    # The phone is kept encrypted; the keyed hash finds a person by phone without decrypting.
    phone_ciphertext: Mapped[str | None] = mapped_column(String(256))
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_masked: Mapped[str | None] = mapped_column(String(16))
    # Console sign-in for staff.
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    # Set with a temporary password someone else chose: the console asks for a new one
    # before anything else.
    password_must_change: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped on logout and role changes, so access tokens issued before stop working.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    privacy_policy_version: Mapped[str | None] = mapped_column(String(32))
    privacy_consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Left off every leaderboard: by the person's own choice, or by staff (e.g. abuse).
    leaderboard_opt_out: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    leaderboard_banned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user",
        order_by="RoleGrant.id",
        cascade="all, delete-orphan",
        foreign_keys="RoleGrant.user_id",
    )


class RoleGrant(Base):
    """A role held on an object (a place node, department, branch or station) and its subtree."""

    __tablename__ = "role_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    scope_type: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[int] = mapped_column(Integer)
    granted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])

    __table_args__ = (
        UniqueConstraint("user_id", "role", "scope_type", "scope_id"),
        Index("ix_role_grant_scope", "scope_type", "scope_id"),
        CheckConstraint(_one_of("role", Role), name="role"),
        CheckConstraint(_one_of("scope_type", ScopeType), name="scope_type"),
    )


# The tables as Core sees them, for the statements hot paths build once.
GRANT_TABLE = cast(Table, RoleGrant.__table__)
USER_TABLE = cast(Table, User.__table__)
