"""The conditional status move every life cycle in service/ steps with."""

from __future__ import annotations

from sqlalchemy import select

from points.demands import DemandStatus
from service.db import utcnow
from service.demands.models import Demand
from service.demo.world import seed_demo_world
from service.lifecycle import move_status
from service.people.models import User
from service.unit_of_work import UnitOfWork


def test_a_row_moves_only_from_the_state_it_is_still_in(uow: UnitOfWork) -> None:
    world = seed_demo_world(uow)
    demand_id = world.demands[0]["id"]
    now = utcnow()
    with uow:
        session = uow.session
        staff_id = session.scalars(select(User.id).where(User.openid == "demo-staff-1")).one()
        accepted = move_status(
            session,
            Demand,
            demand_id,
            DemandStatus.SUBMITTED,
            DemandStatus.ACCEPTED,
            handled_by_id=staff_id,
            accepted_at=now,
        )
        # A second step that read "submitted" before the first one moved it finds nothing.
        declined = move_status(
            session,
            Demand,
            demand_id,
            DemandStatus.SUBMITTED,
            DemandStatus.DECLINED,
            decline_reason="too late",
        )
        missing = move_status(
            session, Demand, demand_id + 1000, DemandStatus.SUBMITTED, DemandStatus.ACCEPTED
        )
        uow.commit()
    assert (accepted, declined, missing) == (True, False, False)
    with uow:
        stored = uow.session.execute(
            select(
                Demand.status, Demand.handled_by_id, Demand.accepted_at, Demand.decline_reason
            ).where(Demand.id == demand_id)
        ).one()
    assert tuple(stored) == ("accepted", staff_id, now, None)
