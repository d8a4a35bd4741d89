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
from points.proxies import ProxyDeed
from service.demands.handling import acting_details
from service.demands.loop import load_demand, move_demand, place_target
from service.demands.models import Demand
from service.proxies.acting import acting_for, record_act, running_link
from service.unit_of_work import UnitOfWork


def confirm_receipt(
    uow: UnitOfWork, actor: Actor, demand_id: int, now: datetime, *, note: str = ""
) -> Demand:
    with uow:
        session = uow.session
        demand = load_demand(session, demand_id)
        served = demand.served_user_id
        acting = None
        if actor.user_id not in (demand.reporter_id, served):
            # 代办: whoever acts for the person served confirms for them.
            link = running_link(session, actor.user_id, served, now) if served else None
            if link is None:
                require(actor, Action.HANDLE_DEMANDS, place_target(session, demand), what="demand")
                raise Forbidden(
                    "only the household served, or who ordered for it, confirms receipt"
                )
            acting = acting_for(session, actor, link.subject_id, now)
        if demand.order_kind is None:
            raise NotAnOrder("only a delivery or errand (点单) is confirmed by its receiver")
        move_demand(
            session,
            actor,
            demand,
            DemandAction.CONFIRM,
            now,
            note=note,
            details={"on_behalf": actor.user_id != served, **acting_details(acting)},
            closed_at=now,
        )
        if acting is not None:
            record_act(session, acting, ProxyDeed.CONFIRM, "demand", demand.id, now)
        uow.commit()
        session.refresh(demand)
        return demand
