"""Tasks that serve a demand (点单 → 派单): which demand a new task may point at."""

from __future__ import annotations

from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, can
from points.demands import SERVABLE, DemandNotOpen, DemandStatus
from points.errors import NotFound
from service.demands.models import Demand
from service.places.models import Place


def servable_demand(session: Session, actor: Actor, demand_id: int) -> Demand:
    """A demand the actor handles that is still being worked on."""
    demand = session.get(Demand, demand_id)
    place = session.get(Place, demand.place_id) if demand is not None else None
    if (
        demand is None
        or place is None
        or not can(actor, Action.HANDLE_DEMANDS, Target(place_path=place.path))
    ):
        raise NotFound("demand not found", errors={"demand_id": ["no such demand"]})
    if DemandStatus(demand.status) not in SERVABLE:
        raise DemandNotOpen(f"this demand is {demand.status}", errors={"demand_id": ["not open"]})
    return demand
