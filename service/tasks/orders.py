"""点单 → 派单 in one step: staff turn a resident's order (a delivery, an errand) into
the task that serves it, filled in from the order — its place, its door, its
household — so the member who takes it knows where to go, and the work handed in
reaches that household (whose residents may then rate it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from points.access import Actor
from points.demands import DemandNotOpen, DemandOrder, DemandStatus, NotAnOrder
from points.errors import InvalidInput
from points.rules import Category, TaskType, WorkUnit
from points.tasks import Audience, CheckinMode
from service.demands.serving import servable_demand
from service.households.models import Household
from service.tasks.board import NewTask, post_task
from service.tasks.models import Task
from service.unit_of_work import UnitOfWork

_TASK_TYPES = {
    DemandOrder.DELIVERY: TaskType.ELDER_DELIVERY,
    DemandOrder.ERRAND: TaskType.NEIGHBOUR_HELP,
}
_TITLES = {DemandOrder.DELIVERY: "送菜上门", DemandOrder.ERRAND: "代办服务"}


@dataclass(frozen=True)
class OrderTask:
    """What only staff can say about the run; the rest comes from the order."""

    starts_at: datetime
    ends_at: datetime
    # Where the member checks in: the door, as the order's location or as staff give it.
    lat: float | None = None
    lng: float | None = None
    radius_m: int = 100
    capacity: int = 1
    title: str | None = None
    description: str | None = None
    checkin_mode: CheckinMode = CheckinMode.GEOFENCE
    publish: bool = True


def post_order_task(
    uow: UnitOfWork, actor: Actor, demand_id: int, spec: OrderTask, now: datetime
) -> Task:
    with uow:
        session = uow.session
        demand = servable_demand(session, actor, demand_id)
        if demand.order_kind is None or demand.household_id is None:
            raise NotAnOrder(
                "only a delivery or errand (点单) becomes a task in one step; "
                "post a task with demand_id for other demands"
            )
        if demand.status != DemandStatus.ACCEPTED.value:
            # One delivery, one task: a second run is posted with demand_id, on purpose.
            raise DemandNotOpen("this order has its task already", errors={"demand_id": ["served"]})
        lat = spec.lat if spec.lat is not None else demand.lat
        lng = spec.lng if spec.lng is not None else demand.lng
        if lat is None or lng is None:
            raise InvalidInput(
                "say where the door is, for check-in",
                errors={"lat": ["required"], "lng": ["required"]},
            )
        order = DemandOrder(demand.order_kind)
        household = session.get(Household, demand.household_id)
        assert household is not None  # a foreign key
        description = spec.description if spec.description is not None else demand.description
        task = post_task(
            session,
            actor,
            NewTask(
                place_id=demand.place_id,
                title=(spec.title or f"{_TITLES[order]}：{household.label}").strip(),
                category=Category(demand.category),
                type=_TASK_TYPES[order],
                lat=lat,
                lng=lng,
                radius_m=spec.radius_m,
                starts_at=spec.starts_at,
                ends_at=spec.ends_at,
                capacity=spec.capacity,
                audience=Audience.EVERYONE,
                checkin_mode=spec.checkin_mode,
                work_unit=WorkUnit.HOURS,
                description=description.strip(),
                address=demand.address or household.label,
                demand_id=demand.id,
                household_id=household.id,
                publish=spec.publish,
            ),
            now,
        )
        uow.commit()
        return task
