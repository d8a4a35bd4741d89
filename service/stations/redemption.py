"""Redeeming (兑换): hold points and goods together, and let go of them together.

Everything of one redemption happens in one transaction, in a fixed lock order —
the redemption row, then the member's ledger account (inside ``posting``), then the
item's stock last — so concurrent holds, cancels, pickups and expiry never wait on
each other in a circle. The item's row is shared by everyone redeeming it: taking
its stock as the last step before COMMIT keeps that lock for a moment rather than
for the whole request (the escrow account is changed after it, at COMMIT). Limits
that count a member's redemptions are checked after the hold has locked the
member's account, so two of their requests can't both count "one left".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from points.access import SERVICE_ROLES, Actor, Role
from points.errors import Conflict, InvalidInput, NotFound
from points.ledger import Phase, TransferKind
from points.notices import Topic
from points.proxies import ProxyDeed
from points.redemption import (
    ItemAudience,
    ItemInactive,
    LimitPeriod,
    OutOfStock,
    RedemptionStatus,
    check_limit,
    check_open_holds,
    new_pickup_code,
    period_start,
    sign_qr_payload,
)
from points.tasks import NotInAudience
from service.ledger.accounts import member_account, system_account
from service.ledger.posting import TransferRequest, post
from service.notices import tell
from service.organisation.models import STATION_TABLE
from service.proxies.acting import acting_for, record_act, runs_now
from service.stations import stock
from service.stations.models import ITEM_TABLE, REDEMPTION_TABLE, Redemption

ESCROW = "escrow:redemption"
MAX_QUANTITY = 99
_CODE_ATTEMPTS = 8


class RedemptionChanged(Conflict):
    code = "redemption_changed"


@dataclass(frozen=True)
class RedemptionPolicy:
    """What configuration decides (service/config.py): how long a hold lasts, how many
    one member may have open, and the key that signs pickup QR codes."""

    hold_days: int
    max_open: int
    qr_key: bytes


@dataclass(frozen=True)
class RedemptionView:
    redemption: Redemption
    qr_payload: str | None  # only while it can still be picked up
    member_name: str | None = None  # at the counter, whom the clerk hands the goods to


def view(redemption: Redemption, policy: RedemptionPolicy) -> RedemptionView:
    payload = None
    if redemption.status == RedemptionStatus.HELD.value:
        payload = sign_qr_payload(
            policy.qr_key, redemption.id, redemption.station_id, redemption.pickup_code
        )
    return RedemptionView(redemption, payload)


def hold_key(redemption_id: int) -> str:
    return f"redeem_hold:redemption:{redemption_id}"


# Built once: a redemption runs each of these, and building a statement costs more
# than running it. Core rather than ORM: none of these rows is used as an object.

_REDEEMABLE = (
    select(
        ITEM_TABLE.c.station_id,
        ITEM_TABLE.c.name,
        ITEM_TABLE.c.price,
        ITEM_TABLE.c.currency,
        ITEM_TABLE.c.stock,
        ITEM_TABLE.c.per_member_limit,
        ITEM_TABLE.c.limit_period,
        ITEM_TABLE.c.audience,
        ITEM_TABLE.c.active,
        ITEM_TABLE.c.available_from,
        ITEM_TABLE.c.available_until,
        STATION_TABLE.c.active.label("station_active"),
    )
    .join(STATION_TABLE, STATION_TABLE.c.id == ITEM_TABLE.c.station_id)
    .where(ITEM_TABLE.c.id == bindparam("item_id"))
)

# A code already taken by an open hold at the station meets the partial unique index:
# nothing is inserted and no id comes back, and another code is drawn.
_INSERT = {
    "postgresql": postgresql.insert(REDEMPTION_TABLE)
    .on_conflict_do_nothing()
    .returning(REDEMPTION_TABLE.c.id),
    "sqlite": sqlite.insert(REDEMPTION_TABLE)
    .on_conflict_do_nothing()
    .returning(REDEMPTION_TABLE.c.id),
}

# The member's redemptions, the one being made included (it is inserted by then). An
# alias, so that inside the UPDATE below they are counted from the table rather than
# correlated to the row being changed.
_MINE = REDEMPTION_TABLE.alias("mine")
_HELD = RedemptionStatus.HELD.value
_OPEN_HOLDS = (
    select(func.count())
    .where(_MINE.c.user_id == bindparam("member_id"), _MINE.c.status == _HELD)
    .scalar_subquery()
)
_THIS_PERIOD = (
    select(func.coalesce(func.sum(_MINE.c.quantity), 0))
    .where(
        _MINE.c.user_id == bindparam("member_id"),
        _MINE.c.item_id == bindparam("counted_item_id"),
        _MINE.c.status.in_([_HELD, RedemptionStatus.FULFILLED.value]),
        _MINE.c.created_at >= bindparam("since"),
    )
    .scalar_subquery()
)
# Links the hold and counts what the limits need, in one round trip. It runs after the
# hold has locked the member's account, so two of their requests can't both count
# "one left". (No parameter is named after a column: an UPDATE would SET it.)
_LINK_AND_COUNT = (
    update(REDEMPTION_TABLE)
    .where(REDEMPTION_TABLE.c.id == bindparam("redemption_id"))
    .values(hold_transfer_id=bindparam("hold_id"))
    .returning(_OPEN_HOLDS.label("open_holds"), _THIS_PERIOD.label("this_period"))
)


def _redeemable_item(
    session: Session, actor: Actor, item_id: int, now: datetime
) -> Row[*tuple[Any, ...]]:
    item = session.execute(_REDEEMABLE, {"item_id": item_id}).one_or_none()
    if item is None:
        raise NotFound("item not found", errors={"item_id": ["no such item"]})
    window_open = (item.available_from is None or item.available_from <= now) and (
        item.available_until is None or now < item.available_until
    )
    if not (item.active and window_open and item.station_active):
        raise ItemInactive("this item can't be redeemed now")
    members_only = item.audience == ItemAudience.MEMBERS.value
    allowed = {Role.MEMBER} if members_only else SERVICE_ROLES
    if allowed.isdisjoint(actor.roles):
        who = "party members" if members_only else "residents"
        raise NotInAudience(f"this item is for {who} only")
    return item


def _insert_with_code(session: Session, row: dict[str, Any]) -> int:
    """Insert the redemption with a code unique among the station's open holds (a
    partial unique index says so), drawing again on the rare collision; the code
    drawn is left in ``row``."""
    insert = _INSERT[session.get_bind().dialect.name]
    for _ in range(_CODE_ATTEMPTS):
        row["pickup_code"] = new_pickup_code()
        redemption_id: int | None = session.execute(insert, row).scalar()
        if redemption_id is not None:
            return redemption_id
    raise Conflict("could not find a free pickup code; try again")


def hold_redemption(
    session: Session,
    actor: Actor,
    item_id: int,
    quantity: int,
    now: datetime,
    policy: RedemptionPolicy,
    *,
    for_user_id: int | None = None,
) -> RedemptionView:
    """Set goods aside and hold their price; the caller's transaction commits both.
    The redemption returned is what was written, outside the session.

    For someone (代办, ``for_user_id``): their points pay and the goods are theirs, as
    if they redeemed themselves (their roles, their limits); the proxy is named on the
    redemption and on the hold, and the act goes in both their histories."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput("bad quantity", errors={"quantity": [f"1 to {MAX_QUANTITY}"]})
    acting = acting_for(session, actor, for_user_id, now) if for_user_id is not None else None
    redeemer = acting.subject if acting is not None else actor
    item = _redeemable_item(session, redeemer, item_id, now)
    if item.stock < quantity:
        # Sold out as last read: say so before any work. (Taking the stock below is what
        # decides; this read may be a moment old.)
        raise OutOfStock("not enough of this item is left")
    amount = item.price * quantity
    row: dict[str, Any] = {
        "user_id": redeemer.user_id,
        "acted_by_id": acting.proxy.user_id if acting is not None else None,
        "item_id": item_id,
        "station_id": item.station_id,
        "quantity": quantity,
        "amount": amount,
        "currency": item.currency,
        "item_name": item.name,
        "status": RedemptionStatus.HELD.value,
        "expires_at": now + timedelta(days=policy.hold_days),
        "created_at": now,
    }
    redemption_id = _insert_with_code(session, row)
    hold = post(
        session,
        TransferRequest(
            idempotency_key=hold_key(redemption_id),
            kind=TransferKind.REDEEM_HOLD,
            phase=Phase.PENDING,
            currency=item.currency,
            debit_account_id=member_account(session, redeemer.user_id, item.currency).id,
            credit_account_id=system_account(session, ESCROW, item.currency).id,
            amount=amount,
            source=f"redemption:{redemption_id}",
            actor_id=actor.user_id,
            explanation=(f"{acting.by_line}: " if acting is not None else "")
            + f"{item.name} × {quantity} at {item.price} each",
            created_at=now,
        ),
    )
    period = LimitPeriod(item.limit_period)
    counts = session.execute(
        _LINK_AND_COUNT,
        {
            "redemption_id": redemption_id,
            "hold_id": hold.id,
            "member_id": redeemer.user_id,
            "counted_item_id": item_id,
            "since": period_start(now, period),
        },
    ).one()
    # Both counts include the redemption being made.
    check_open_holds(counts.open_holds, policy.max_open)
    check_limit(counts.this_period - quantity, quantity, item.per_member_limit, period)
    # What the ledger left to flush goes in now rather than after the stock is taken:
    # the item's row lock is held from there to COMMIT.
    session.flush()
    stock.take(session, item_id, quantity)
    held = Redemption(id=redemption_id, hold_transfer_id=hold.id, **row)
    if acting is not None:
        record_act(session, acting, ProxyDeed.REDEEM, "redemption", redemption_id, now)
    tell(
        session,
        Topic.REDEMPTION_HELD,
        [redeemer.user_id, actor.user_id],  # the proxy is told too: they hold the phone
        redemption_facts(held),
        source=f"redemption:{redemption_id}:held",
    )
    return view(held, policy)


def redemption_facts(redemption: Redemption) -> dict[str, str | int]:
    """What a notice of a redemption says, as it was when it happened."""
    return {
        "redemption_id": redemption.id,
        "item_name": redemption.item_name,
        "quantity": redemption.quantity,
        "amount": redemption.amount,
        "pickup_code": redemption.pickup_code,
        "expires_at": redemption.expires_at.isoformat(),
    }


def my_redemptions(
    session: Session,
    actor: Actor,
    policy: RedemptionPolicy,
    *,
    status: RedemptionStatus | None,
    limit: int,
    before_id: int | None,
    now: datetime,
) -> list[RedemptionView]:
    # Those made for me, and those I made for someone (代办) while I still act for them:
    # a proxy whose link ended holds no pickup code of theirs any more.
    made_for_them = and_(
        Redemption.acted_by_id == actor.user_id,
        runs_now(actor.user_id, Redemption.user_id, now),
    )
    mine = newest_first(
        or_(Redemption.user_id == actor.user_id, made_for_them),
        status,
        limit,
        before_id,
    )
    return [view(r, policy) for r in session.scalars(mine)]


def newest_first(
    whose: ColumnElement[bool], status: RedemptionStatus | None, limit: int, before_id: int | None
) -> Select[Redemption]:
    """One page of redemptions, newest first, optionally of one status."""
    query = select(Redemption).where(whose).order_by(Redemption.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Redemption.status == status.value)
    if before_id is not None:
        query = query.where(Redemption.id < before_id)
    return query
