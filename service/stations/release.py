"""A hold let go without a pickup: the member cancels it, or it expires unclaimed; the
points go back and the stock returns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.access import Actor
from points.errors import NotFound
from points.notices import Topic
from points.proxies import NotProxy, ProxyDeed
from points.redemption import (
    RedemptionAction,
    RedemptionStatus,
    redemption_transition,
)
from service.audit.log import record
from service.ledger.holds import resolve_hold
from service.lifecycle import move_status
from service.notices import tell
from service.organisation.models import Station
from service.proxies.acting import acting_for, record_act
from service.stations import stock
from service.stations.models import Redemption
from service.stations.redemption import (
    RedemptionChanged,
    RedemptionPolicy,
    RedemptionView,
    redemption_facts,
    view,
)
from service.unit_of_work import UnitOfWork


def _release(
    session: Session,
    redemption: Redemption,
    action: RedemptionAction,
    actor_id: int | None,
    now: datetime,
) -> None:
    """Cancel or expire: close the hold, put the goods back, void the points' hold."""
    target = redemption_transition(RedemptionStatus(redemption.status), action)
    if not move_status(
        session, Redemption, redemption.id, RedemptionStatus.HELD, target, closed_at=now
    ):
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
        if redemption is None:
            raise NotFound("redemption not found")
        acting = None
        if redemption.user_id != actor.user_id:
            # 代办: whoever acts for the redeemer now may cancel for them; to anyone
            # else it isn't there.
            try:
                acting = acting_for(session, actor, redemption.user_id, now)
            except NotProxy:
                raise NotFound("redemption not found") from None
        _release(session, redemption, RedemptionAction.CANCEL, actor.user_id, now)
        if acting is not None:
            record_act(session, acting, ProxyDeed.CANCEL, "redemption", redemption.id, now)
        record(
            session,
            actor_id=actor.user_id,
            action="redemption.cancel",
            object_type="redemption",
            object_id=redemption.id,
            before={"status": RedemptionStatus.HELD.value},
            after={
                "status": RedemptionStatus.CANCELLED.value,
                "user_id": redemption.user_id,
                "item_id": redemption.item_id,
                "quantity": redemption.quantity,
                "amount": redemption.amount,
                "currency": redemption.currency,
            },
            place_id=session.scalar(
                select(Station.place_id).where(Station.id == redemption.station_id)
            ),
        )
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
                tell(
                    session,
                    Topic.REDEMPTION_EXPIRED,
                    [redemption.user_id],
                    redemption_facts(redemption),
                    source=f"redemption:{redemption.id}:expired",
                )
                uow.commit()
                expired += 1
            if len(due) < batch:
                return expired
