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

from sqlalchemy import ColumnElement, Select, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import SERVICE_ROLES, Role
from points.errors import Conflict, InvalidInput, NotFound
from points.ledger import Phase, TransferKind
from points.redemption import (
    ItemAudience,
    ItemInactive,
    LimitPeriod,
    OutOfStock,
    RedemptionAction,
    RedemptionStatus,
    check_limit,
    check_open_holds,
    new_pickup_code,
    period_start,
    redemption_transition,
    sign_qr_payload,
)
from points.tasks import NotInAudience
from service.access import Actor
from service.db import rows_changed
from service.ledger.accounts import member_account, system_account
from service.ledger.posting import TransferRequest, post, resolve_hold
from service.stations import stock
from service.stations.models import CatalogueItem, Redemption, Station
from service.unit_of_work import UnitOfWork

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


def view(redemption: Redemption, policy: RedemptionPolicy) -> RedemptionView:
    payload = None
    if redemption.status == RedemptionStatus.HELD.value:
        payload = sign_qr_payload(
            policy.qr_key, redemption.id, redemption.station_id, redemption.pickup_code
        )
    return RedemptionView(redemption, payload)


def hold_key(redemption_id: int) -> str:
    return f"redeem_hold:redemption:{redemption_id}"


def _item_and_station(session: Session, item_id: int) -> tuple[CatalogueItem, Station]:
    found = session.execute(
        select(CatalogueItem, Station)
        .join(Station, Station.id == CatalogueItem.station_id)
        .where(CatalogueItem.id == item_id)
    ).one_or_none()
    if found is None:
        raise NotFound("item not found", errors={"item_id": ["no such item"]})
    return found[0], found[1]


def _check_redeemable(actor: Actor, item: CatalogueItem, station: Station, now: datetime) -> None:
    window_open = (item.available_from is None or item.available_from <= now) and (
        item.available_until is None or now < item.available_until
    )
    if not (item.active and window_open and station.active):
        raise ItemInactive("this item can't be redeemed now")
    allowed = {Role.MEMBER} if item.audience == ItemAudience.MEMBERS.value else SERVICE_ROLES
    if allowed.isdisjoint(actor.roles):
        who = "party members" if item.audience == ItemAudience.MEMBERS.value else "residents"
        raise NotInAudience(f"this item is for {who} only")


def _insert_with_code(session: Session, redemption: Redemption) -> None:
    """A code unique among the station's open holds (a partial unique index says so);
    on the rare collision, draw again."""
    for _ in range(_CODE_ATTEMPTS):
        redemption.pickup_code = new_pickup_code()
        try:
            with session.begin_nested():
                session.add(redemption)
                session.flush()
            return
        except IntegrityError:
            continue  # the savepoint's rollback took the row back out of the session
    raise Conflict("could not find a free pickup code; try again")


def _check_limits(
    session: Session, actor: Actor, item: CatalogueItem, quantity: int, now: datetime, maximum: int
) -> None:
    period = LimitPeriod(item.limit_period)
    since = period_start(now, period)
    held = RedemptionStatus.HELD.value
    counts = session.execute(
        select(
            func.count(case((Redemption.status == held, 1))),
            func.coalesce(
                func.sum(
                    case(
                        (
                            (Redemption.item_id == item.id)
                            & Redemption.status.in_([held, RedemptionStatus.FULFILLED.value])
                            & (Redemption.created_at >= since),
                            Redemption.quantity,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
        ).where(Redemption.user_id == actor.user_id)
    ).one()
    open_holds, this_period = int(counts[0]), int(counts[1])
    # Both counts include the redemption being made.
    check_open_holds(open_holds, maximum)
    check_limit(this_period - quantity, quantity, item.per_member_limit, period)


def hold_redemption(
    session: Session,
    actor: Actor,
    item_id: int,
    quantity: int,
    now: datetime,
    policy: RedemptionPolicy,
) -> RedemptionView:
    """Set goods aside and hold their price; the caller's transaction commits both."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput("bad quantity", errors={"quantity": [f"1 to {MAX_QUANTITY}"]})
    item, station = _item_and_station(session, item_id)
    _check_redeemable(actor, item, station, now)
    if item.stock < quantity:
        # Sold out as last read: say so before any work. (Taking the stock below is what
        # decides; this read may be a moment old.)
        raise OutOfStock("not enough of this item is left")
    amount = item.price * quantity
    redemption = Redemption(
        user_id=actor.user_id,
        item_id=item.id,
        station_id=item.station_id,
        quantity=quantity,
        amount=amount,
        currency=item.currency,
        item_name=item.name,
        status=RedemptionStatus.HELD.value,
        expires_at=now + timedelta(days=policy.hold_days),
        created_at=now,
    )
    _insert_with_code(session, redemption)
    hold = post(
        session,
        TransferRequest(
            idempotency_key=hold_key(redemption.id),
            kind=TransferKind.REDEEM_HOLD,
            phase=Phase.PENDING,
            currency=item.currency,
            debit_account_id=member_account(session, actor.user_id, item.currency).id,
            credit_account_id=system_account(session, ESCROW, item.currency).id,
            amount=amount,
            source=f"redemption:{redemption.id}",
            actor_id=actor.user_id,
            explanation=f"{item.name} × {quantity} at {item.price} each",
            created_at=now,
        ),
    )
    redemption.hold_transfer_id = hold.id
    _check_limits(session, actor, item, quantity, now, policy.max_open)
    session.flush()
    stock.take(session, item.id, quantity)
    return view(redemption, policy)


def _release(
    session: Session,
    redemption: Redemption,
    action: RedemptionAction,
    actor_id: int | None,
    now: datetime,
) -> None:
    """Cancel or expire: close the hold, put the goods back, void the points' hold."""
    target = redemption_transition(RedemptionStatus(redemption.status), action)
    moved = rows_changed(
        session.execute(
            update(Redemption)
            .where(Redemption.id == redemption.id, Redemption.status == RedemptionStatus.HELD.value)
            .values(status=target.value, closed_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if moved != 1:
        raise RedemptionChanged("this redemption changed a moment ago; reload it")
    if redemption.hold_transfer_id is not None:
        resolve_hold(
            session,
            redemption.hold_transfer_id,
            hand_over=False,
            actor_id=actor_id,
            key=f"redeem_void:redemption:{redemption.id}",
        )
    stock.give_back(session, redemption.item_id, redemption.quantity)


def cancel_redemption(
    uow: UnitOfWork, actor: Actor, redemption_id: int, now: datetime, policy: RedemptionPolicy
) -> RedemptionView:
    with uow:
        session = uow.session
        redemption = session.get(Redemption, redemption_id)
        if redemption is None or redemption.user_id != actor.user_id:
            raise NotFound("redemption not found")
        _release(session, redemption, RedemptionAction.CANCEL, actor.user_id, now)
        uow.commit()
        session.refresh(redemption)
        return view(redemption, policy)


def expire_due(uow: UnitOfWork, now: datetime, batch: int = 200) -> int:
    """Release every hold past its expiry; safe to run again, or alongside pickups and
    cancels (whichever moves a redemption first wins, the other leaves it).

    One transaction per redemption: a batch in one transaction would keep the escrow
    account locked while taking the next item's stock, against the lock order."""
    expired = 0
    with uow:
        session = uow.session
        while True:
            due = list(
                session.scalars(
                    select(Redemption)
                    .where(
                        Redemption.status == RedemptionStatus.HELD.value,
                        Redemption.expires_at <= now,
                    )
                    .order_by(Redemption.expires_at, Redemption.id)
                    .limit(batch)
                )
            )
            uow.commit()
            for redemption in due:
                try:
                    _release(session, redemption, RedemptionAction.EXPIRE, None, now)
                except RedemptionChanged:
                    session.rollback()
                    continue
                uow.commit()
                expired += 1
            if len(due) < batch:
                return expired


def my_redemptions(
    session: Session,
    actor: Actor,
    policy: RedemptionPolicy,
    *,
    status: RedemptionStatus | None,
    limit: int,
    before_id: int | None,
) -> list[RedemptionView]:
    mine = newest_first(Redemption.user_id == actor.user_id, status, limit, before_id)
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
