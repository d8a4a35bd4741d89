from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from points.redemption import ItemAudience, LimitPeriod, RedemptionStatus
from service.db import Base, UTCDateTime, utcnow


def _one_of(column: str, values: Iterable[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class CatalogueItem(Base):
    """Goods a station hands out for points, with what is left on the shelf."""

    __tablename__ = "catalogue_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str | None] = mapped_column(String(500))
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(ForeignKey("currency.code"))
    # Changed only by conditional UPDATEs (redeem, give back, adjust); never below zero.
    stock: Mapped[int] = mapped_column(Integer, default=0)
    per_member_limit: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    limit_period: Mapped[str] = mapped_column(String(8), default=LimitPeriod.MONTH.value)
    audience: Mapped[str] = mapped_column(String(16), default=ItemAudience.EVERYONE.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    available_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    available_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("per_member_limit IS NULL OR per_member_limit > 0", name="limit_positive"),
        CheckConstraint(_one_of("limit_period", LimitPeriod), name="limit_period"),
        CheckConstraint(_one_of("audience", ItemAudience), name="audience"),
    )


class StockMovement(Base):
    """A delivery in or a write-off, by whom and why. Redemptions move stock too, but
    they are their own record (the redemption row)."""

    __tablename__ = "stock_movement"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalogue_item.id"), index=True)
    delta: Mapped[int] = mapped_column(Integer)  # + delivered, − written off
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    stock_after: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("delta <> 0", name="not_zero"),)


class Redemption(Base):
    """One member's claim on goods: points held, goods set aside, a code to pick up."""

    __tablename__ = "redemption"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    # 代办: the proxy who redeemed for them (``user_id`` is whose points and goods).
    acted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalogue_item.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)  # price × quantity when redeemed
    currency: Mapped[str] = mapped_column(ForeignKey("currency.code"))
    status: Mapped[str] = mapped_column(String(16), default=RedemptionStatus.HELD.value)
    pickup_code: Mapped[str] = mapped_column(String(12))
    hold_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fulfilled_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # cancelled or expired
    item_name: Mapped[str] = mapped_column(String(100))  # as it was called when redeemed

    __table_args__ = (
        CheckConstraint("quantity > 0 AND amount > 0", name="positive"),
        CheckConstraint(_one_of("status", RedemptionStatus), name="status"),
        # A code names one open hold at its station; once closed it may be issued again.
        Index(
            "uq_redemption_open_pickup_code",
            "station_id",
            "pickup_code",
            unique=True,
            sqlite_where=text("status = 'held'"),
            postgresql_where=text("status = 'held'"),
        ),
        Index("ix_redemption_user_status", "user_id", "status"),
        Index("ix_redemption_item_user", "item_id", "user_id", "created_at"),
        Index("ix_redemption_status_expires", "status", "expires_at"),
        Index("ix_redemption_station_fulfilled", "station_id", "fulfilled_at"),
    )


# The tables as Core sees them, for the statements hot paths build once.
ITEM_TABLE = cast(Table, CatalogueItem.__table__)
REDEMPTION_TABLE = cast(Table, Redemption.__table__)
