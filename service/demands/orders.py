"""点单 delivery (送菜上门 / 代办): a delivery or errand ordered for a household reaches it.

Once the task's work was approved (反馈), the resident served — or whoever filed the
order for them, asking them, since many elders have no smartphone — confirms it came,
and that closes the order (销号) in place of staff's 核查: staff checked the work when
they approved it, and only the household can say the groceries arrived."""

from __future__ import annotations

from datetime import datetime

from points.access import Action, Actor, require
from points.demands import DemandAction, NotAnOrder
from points.errors import Forbidden
from service.demands.loop import load_demand, move_demand, place_target
from service.demands.models import Demand
from service.unit_of_work import UnitOfWork


def confirm_receipt(
    uow: UnitOfWork, actor: Actor, demand_id: int, now: datetime, *, note: str = ""
) -> Demand:
    with uow:
        session = uow.session
        demand = load_demand(session, demand_id)
        if actor.user_id not in (demand.reporter_id, demand.served_user_id):
            require(actor, Action.HANDLE_DEMANDS, place_target(session, demand), what="demand")
            raise Forbidden("only the household served, or who ordered for it, confirms receipt")
        if demand.order_kind is None:
            raise NotAnOrder("only a delivery or errand (点单) is confirmed by its receiver")
        move_demand(
            session,
            actor,
            demand,
            DemandAction.CONFIRM,
            now,
            note=note,
            details={"on_behalf": actor.user_id != demand.served_user_id},
            closed_at=now,
        )
        uow.commit()
        session.refresh(demand)
        return demand
