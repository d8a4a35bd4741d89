from __future__ import annotations

from datetime import datetime
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
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from points.ledger import Phase, TransferKind
from service.db import Base, UTCDateTime, utcnow


def _one_of(column: str, values: type[Phase] | type[TransferKind]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Currency(Base):
    """积分 (honour points, never spent) and 幸福币 (spendable), as data."""

    __tablename__ = "currency"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    scale: Mapped[int] = mapped_column(Integer, default=0)  # decimal places when shown
    spendable: Mapped[bool] = mapped_column(Boolean)
    expires_after_days: Mapped[int | None] = mapped_column(Integer)


class LedgerAccount(Base):
    """A member's account in one currency, or a system account such as
    ``issuance:<place>`` (where points come from; may go negative) or
    ``sink:redeemed:<station>``."""

    __tablename__ = "ledger_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(ForeignKey("currency.code"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    system_key: Mapped[str | None] = mapped_column(String(64))
    # Set on member accounts: debits (spent or reserved) never exceed posted credits.
    no_overdraft: Mapped[bool] = mapped_column(Boolean)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("currency", "user_id"),
        UniqueConstraint("currency", "system_key"),
        CheckConstraint("(user_id IS NULL) <> (system_key IS NULL)", name="one_owner"),
        CheckConstraint(
            "NOT no_overdraft OR debits_posted + debits_pending <= credits_posted",
            name="no_overdraft",
        ),
        CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 "
            "AND credits_posted >= 0",
            name="totals_not_negative",
        ),
    )


class Transfer(Base):
    """One movement of points. Never updated, never deleted: a mistake is corrected by
    a reversing transfer that names this one."""

    __tablename__ = "ledger_transfer"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # Derived from the business source ("earn:participation:812:jifen"), so a retry,
    # a double click or a replayed job finds the first transfer instead of a second.
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    phase: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(ForeignKey("currency.code"))
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    # A post or void names its pending transfer; unique, so a hold resolves once.
    pending_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    # A reversal names what it reverses; unique, so nothing is reversed twice.
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    source: Mapped[str | None] = mapped_column(String(64))  # e.g. "participation:812"
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    rule_set_version: Mapped[str | None] = mapped_column(String(32))
    explanation: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint(_one_of("kind", TransferKind), name="kind"),
        CheckConstraint(_one_of("phase", Phase), name="phase"),
        CheckConstraint(
            "(phase IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)",
            name="resolves_a_hold",
        ),
        Index("ix_ledger_transfer_source", "source"),
        # Leaderboards read one period's earnings (a new week's board, a stale answer).
        Index("ix_ledger_transfer_created_at", "created_at"),
    )


class Adjustment(Base):
    """A staff member's award or deduction, with its reason; above the confirmation
    amount it waits for a second staff member before its transfer is posted."""

    __tablename__ = "ledger_adjustment"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(ForeignKey("currency.code"))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"))
    # Set by bulk imports: one award per person, currency and batch, however often run.
    idempotency_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("kind IN ('award', 'deduct')", name="kind"),
        CheckConstraint("status IN ('pending_confirmation', 'posted', 'rejected')", name="status"),
        Index("ix_ledger_adjustment_status", "status"),
    )


class PointLot(Base):
    """Spendable points from one credit, spent oldest first and expiring on a date. For
    each member account, the lots' remainders add up to what is available."""

    __tablename__ = "point_lot"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("amount > 0 AND remaining >= 0 AND remaining <= amount", name="bounds"),
        Index("ix_point_lot_account_expiry", "account_id", "expires_at"),
        Index("ix_point_lot_expiry", "expires_at"),
    )


class LotUse(Base):
    """How much of a lot one transfer took (or, negative, gave back: a voided hold)."""

    __tablename__ = "point_lot_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("point_lot.id"), index=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("amount <> 0", name="not_zero"),)


class EarningEvent(Base):
    """The ledger's outbox of earnings: one row per transfer that changes what a member
    has earned, written in the transfer's transaction and marked applied once the Redis
    leaderboards have it. Redis is derived; this row is what says it must be told."""

    # Named for its first reader; renaming the table would buy a migration and nothing.
    __tablename__ = "leaderboard_outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    currency: Mapped[str] = mapped_column(String(16))
    delta: Mapped[int] = mapped_column(BigInteger)  # negative for a reversal
    # When the points were earned: a reversal takes them back from that period's boards.
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # The sweeper reads only what is not applied yet, oldest first.
        Index(
            "ix_leaderboard_outbox_pending",
            "id",
            postgresql_where=text("applied_at IS NULL"),
            sqlite_where=text("applied_at IS NULL"),
        ),
    )


# The tables as Core sees them, for the statements hot paths build once.
CURRENCY_TABLE = cast(Table, Currency.__table__)
EARNING_EVENT_TABLE = cast(Table, EarningEvent.__table__)
ACCOUNT_TABLE = cast(Table, LedgerAccount.__table__)
TRANSFER_TABLE = cast(Table, Transfer.__table__)
