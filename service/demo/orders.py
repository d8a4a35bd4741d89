"""The demo's 点单 and 党员联户: an elder's household with its resident on the register,
the members who look after the grid's doors, a delivery a member ordered for the elder
(代办) that staff turned into its task, and a delivery rider's report of a problem he
saw on his round (移动探头) — each walked there by the real use cases, once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from points.access import Actor
from points.calendar import local_date, local_midnight
from points.demands import DemandOrder
from points.rules import Category
from service.access import load_actor
from service.demands.handling import NewDemand, report_demand
from service.demands.loop import accept_demand
from service.demands.models import Demand
from service.demo.cast import RIDER
from service.demo.journeys import DEMO_TEXT
from service.households.models import Household, HouseholdPairing, HouseholdResident
from service.households.pairings import pair_member
from service.households.residents import add_resident
from service.people.models import User
from service.tasks.orders import OrderTask, post_order_task
from service.unit_of_work import UnitOfWork

ELDER_DOOR = "1栋2单元302"  # 行动不便，需送菜上门 (DEMO_HOUSEHOLDS)
ORDER = "代赵奶奶点单：青菜两斤、鸡蛋一盒、挂面两把，送到家门口"
RIDER_REPORT = "和平社区西门外井盖松动，电动车压过去会翘起来"


def walk_orders(
    uow: UnitOfWork, point: tuple[float, float], rider_point: tuple[float, float], now: datetime
) -> list[dict[str, Any]]:
    session = uow.session
    people = {
        user.openid: user
        for user in session.scalars(select(User).where(User.openid.is_not(None)))
        if user.openid
    }

    def actor(openid: str) -> Actor:
        return load_actor(session, people[openid].id)

    # The filer serves in the elder's grid (members live round their grids in turn).
    elder, filer, staff = people["demo-resident-1"], people["demo-member-3"], "demo-staff-1"
    assert elder.residence_place_id is not None  # the demo's residents live in a grid
    household = session.scalars(
        select(Household).where(
            Household.place_id == elder.residence_place_id, Household.label == ELDER_DOOR
        )
    ).one()
    lives = select(HouseholdResident.id).where(
        HouseholdResident.household_id == household.id, HouseholdResident.user_id == elder.id
    )
    if session.scalar(lives) is None:
        add_resident(uow, actor(staff), household.id, elder.id)
    # 党员联户: the grid's first member looks after each of its doors.
    doors = session.scalars(
        select(Household).where(Household.place_id == elder.residence_place_id)
    ).all()
    looker = people["demo-member-1"]
    for door in doors:
        paired = select(HouseholdPairing.id).where(
            HouseholdPairing.household_id == door.id, HouseholdPairing.member_id == looker.id
        )
        if session.scalar(paired) is None:
            pair_member(uow, actor(staff), door.id, looker.id, now)

    walked = []
    order = session.scalars(select(Demand).where(Demand.description == ORDER)).first()
    if order is None:
        order = report_demand(
            uow,
            actor(filer.openid or ""),
            NewDemand(
                household.place_id,
                Category.SERVICE,
                ORDER,
                order=DemandOrder.DELIVERY,
                household_id=household.id,
            ),
            now - timedelta(hours=3),
            checks=DEMO_TEXT,
        )
        accept_demand(uow, actor(staff), order.id, now - timedelta(hours=2))
        tomorrow = local_midnight(local_date(now) + timedelta(days=1))
        post_order_task(
            uow,
            actor(staff),
            order.id,
            OrderTask(
                starts_at=tomorrow + timedelta(hours=10),
                ends_at=tomorrow + timedelta(hours=12),
                lat=point[0],
                lng=point[1],
            ),
            now - timedelta(hours=2),
        )
        session.refresh(order)
    walked.append({"id": order.id, "status": order.status, "order": order.order_kind})

    # Lives elsewhere and serves nowhere: he says where the problem is.
    rider = people[RIDER[0]]
    report = session.scalars(select(Demand).where(Demand.description == RIDER_REPORT)).first()
    if report is None:
        community = people["demo-staff-2"].grants[0].scope_id
        report = report_demand(
            uow,
            load_actor(session, rider.id),
            NewDemand(
                community,
                Category.SAFETY,
                RIDER_REPORT,
                lat=rider_point[0],
                lng=rider_point[1],
            ),
            now - timedelta(hours=1),
            checks=DEMO_TEXT,
        )
    walked.append({"id": report.id, "status": report.status, "order": None})
    return walked
