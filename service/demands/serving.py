"""Tasks that serve a demand (点单 → 派单): which demand a new task may point at, the
task becoming the demand's owner (交办), and its approved work being the demand's 反馈."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, can
from points.demands import SERVABLE, DemandAction, DemandNotOpen, DemandStatus, OwnerKind
from points.errors import NotFound
from service.demands.loop import move_demand, record_resolution
from service.demands.models import Demand
from service.places.models import Place


def servable_demand(session: Session, actor: Actor, demand_id: int) -> Demand:
    """A demand the actor handles that a task may serve: accepted, or owned by a task
    already (a second task for the same demand)."""
    demand = session.get(Demand, demand_id)
    place = session.get(Place, demand.place_id) if demand is not None else None
    if (
        demand is None
        or place is None
        or not can(actor, Action.HANDLE_DEMANDS, Target(place_path=place.path))
    ):
        raise NotFound("demand not found", errors={"demand_id": ["no such demand"]})
    status = DemandStatus(demand.status)
    if status not in SERVABLE or (
        status is not DemandStatus.ACCEPTED and demand.owner_kind != OwnerKind.TASK.value
    ):
        raise DemandNotOpen(
            f"this demand is {demand.status}"
            + (f" and assigned to a {demand.owner_kind}" if demand.owner_kind else ""),
            errors={"demand_id": ["not open to a task"]},
        )
    return demand


def assign_to_task(
    session: Session, actor: Actor, demand: Demand, task_id: int, now: datetime
) -> None:
    """交办 to the task just posted for it, if nobody has the demand yet."""
    if demand.status != DemandStatus.ACCEPTED.value:
        return  # another task has it already
    move_demand(
        session,
        actor,
        demand,
        DemandAction.ASSIGN,
        now,
        details={"owner": OwnerKind.TASK.value, "task_id": task_id},
        owner_kind=OwnerKind.TASK.value,
        owner_task_id=task_id,
        owner_user_id=None,
        owner_department_id=None,
        acknowledged_at=None,
        assigned_at=now,
    )


def resolve_by_task(
    session: Session,
    actor: Actor,
    demand_id: int,
    task_id: int,
    resolution: str,
    upload_ids: list[int],
    now: datetime,
) -> None:
    """A task's work approved: the 反馈 of the demand the task owns (once; the work of
    the task's other participants, approved later, adds nothing)."""
    demand = session.get(Demand, demand_id)
    if (
        demand is None
        or demand.owner_task_id != task_id
        or demand.status not in (DemandStatus.ASSIGNED.value, DemandStatus.IN_PROGRESS.value)
    ):
        return
    record_resolution(session, actor, demand, resolution, upload_ids, now)
