"""Handing goods over (核销): a clerk of the station enters the member's pickup code
(or scans their QR), and the held points are spent at the station."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.access import Action, Actor
from points.errors import InvalidInput, NotFound
from points.notices import Topic
from points.redemption import (
    AlreadyPickedUp,
    RedemptionAction,
    RedemptionExpired,
    RedemptionStatus,
    normalise_pickup_code,
    read_qr_payload,
    redemption_transition,
)
from service.audit.log import record
from service.ledger.accounts import redeemed_sink_key, system_account
from service.ledger.holds import resolve_hold
from service.lifecycle import move_status
from service.notices import tell
from service.people.models import User
from service.stations.catalogue import station_for
from service.stations.models import Redemption
from service.stations.redemption import (
    RedemptionChanged,
    RedemptionPolicy,
    RedemptionView,
    newest_first,
    redemption_facts,
    view,
)


def _by_code(session: Session, station_id: int, code: str) -> Redemption:
    found = session.scalars(
        select(Redemption)
        .where(Redemption.station_id == station_id, Redemption.pickup_code == code)
        # The open hold if there is one, else the latest that used this code.
        .order_by((Redemption.status == RedemptionStatus.HELD.value).desc(), Redemption.id.desc())
        .limit(1)
    ).first()
    if found is None:
        raise NotFound("no redemption with this pickup code at this station")
    return found


def _by_qr(session: Session, station_id: int, payload: str, policy: RedemptionPolicy) -> Redemption:
    redemption_id, qr_station, code = read_qr_payload(policy.qr_key, payload)
    redemption = session.get(Redemption, redemption_id)
    if (
        qr_station != station_id
        or redemption is None
        or redemption.station_id != station_id
        or redemption.pickup_code != code
    ):
        raise NotFound("no redemption for this QR code at this station")
    return redemption


def hand_over(
    session: Session,
    actor: Actor,
    station_id: int,
    *,
    pickup_code: str | None,
    qr_payload: str | None,
    now: datetime,
    policy: RedemptionPolicy,
) -> RedemptionView:
    """Hand the goods over in the caller's transaction (which commits)."""
    if (pickup_code is None) == (qr_payload is None):
        raise InvalidInput(
            "give the pickup code or the scanned QR", errors={"pickup_code": ["one of the two"]}
        )
    station = station_for(session, actor, station_id, Action.FULFIL_PICKUPS)
    if pickup_code is not None:
        redemption = _by_code(session, station.id, normalise_pickup_code(pickup_code))
    else:
        redemption = _by_qr(session, station.id, qr_payload or "", policy)
    if redemption.status != RedemptionStatus.HELD.value:
        raise AlreadyPickedUp(
            f"this code is no longer valid: the redemption is {redemption.status}"
        )
    if redemption.expires_at <= now:
        raise RedemptionExpired("this redemption expired; the member may redeem again")
    target = redemption_transition(RedemptionStatus.HELD, RedemptionAction.PICK_UP)
    moved = move_status(
        session,
        Redemption,
        redemption.id,
        RedemptionStatus.HELD,
        target,
        fulfilled_at=now,
        fulfilled_by_id=actor.user_id,
    )
    if not moved:
        raise RedemptionChanged("this redemption changed a moment ago; reload it")
    if redemption.hold_transfer_id is not None:
        sink = system_account(session, redeemed_sink_key(station.id), redemption.currency)
        resolve_hold(
            session,
            redemption.hold_transfer_id,
            hand_over=True,
            actor_id=actor.user_id,
            key=f"redeem_post:redemption:{redemption.id}",
            settle_to=sink.id,
        )
    record(
        session,
        actor_id=actor.user_id,
        action="redemption.fulfil",
        object_type="redemption",
        object_id=redemption.id,
        before={"status": RedemptionStatus.HELD.value},
        after={
            "status": target.value,
            "user_id": redemption.user_id,
            "item_id": redemption.item_id,
            "quantity": redemption.quantity,
            "amount": redemption.amount,
            "currency": redemption.currency,
        },
        place_id=station.place_id,
    )
    tell(
        session,
        Topic.REDEMPTION_PICKED_UP,
        [redemption.user_id],
        redemption_facts(redemption),
        source=f"redemption:{redemption.id}:picked_up",
    )
    # Read again (the UPDATE moved it) with the member's name, in the one statement.
    redemption, member_name = session.execute(
        select(Redemption, User.name)
        .join(User, User.id == Redemption.user_id)
        .where(Redemption.id == redemption.id)
        .execution_options(populate_existing=True)
    ).one()
    return replace(view(redemption, policy), member_name=member_name)


def station_redemptions(
    session: Session,
    actor: Actor,
    station_id: int,
    policy: RedemptionPolicy,
    *,
    status: RedemptionStatus | None,
    limit: int,
    before_id: int | None,
) -> list[RedemptionView]:
    """What the station's clerks see: redemptions waiting for pickup (or any status),
    newest first. Pickup codes are not shown, so the list can't stand in for the
    member telling theirs."""
    station = station_for(session, actor, station_id, Action.FULFIL_PICKUPS)
    theirs = newest_first(Redemption.station_id == station.id, status, limit, before_id)
    return [RedemptionView(r, None) for r in session.scalars(theirs)]
