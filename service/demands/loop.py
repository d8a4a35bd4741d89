"""The demand loop's steps (立项 … 销号): who may take each, what it changes, and the
step it leaves on the demand's timeline.

Every step is one conditional UPDATE on the demand's status and version, so of two
people acting on one demand at once one moves it and the other gets 409; the step's
timeline entry is written in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from points.access import (
    Action,
    Actor,
    Role,
    ScopeType,
    SelfApproval,
    Target,
    allows,
    can,
    require,
)
from points.calendar import local_date
from points.demands import (
    DEMAND_TRANSITIONS,
    NEEDS_A_REASON,
    STATUS_LABELS,
    DemandAction,
    DemandLevel,
    DemandStatus,
    OwnerKind,
    Stage,
    WhistleOutcome,
    stage_of,
)
from points.errors import Conflict, InvalidInput, NotFound
from points.lifecycle import transition
from points.notices import Topic
from points.rules import Category, EarningEvent, Facts
from service.access import load_actor
from service.audit.log import points_moved, record
from service.db import rows_changed
from service.demands.deadlines import deadline
from service.demands.models import (
    DEMAND_TABLE,
    WHISTLE_TABLE,
    Demand,
    DemandEvent,
    DemandWhistle,
)
from service.ledger.models import Transfer
from service.notices import tell
from service.organisation.models import Department
from service.people.belonging import home_places
from service.places.tree import named_place
from service.rules.crediting import Work, credit_work
from service.unit_of_work import UnitOfWork
from service.uploads.photos import check_own_photos


class DemandChanged(Conflict):
    code = "demand_changed"


@dataclass(frozen=True)
class Decided:
    demand: Demand
    transfers: list[Transfer]


@dataclass(frozen=True)
class Owner:
    """Who a demand is handed to (交办)."""

    kind: OwnerKind
    user_id: int | None = None  # a member or volunteer
    department_id: int | None = None  # 吹哨

    def __post_init__(self) -> None:
        if self.kind is OwnerKind.MEMBER and self.user_id is None:
            raise InvalidInput("name the member", errors={"user_id": ["required for a member"]})
        if self.kind is OwnerKind.DEPARTMENT and self.department_id is None:
            raise InvalidInput(
                "name the department", errors={"department_id": ["required for a department"]}
            )
        if self.kind is OwnerKind.TASK:
            raise InvalidInput(
                "a task becomes the owner when it is posted for the demand",
                errors={"kind": ["post a task with demand_id instead"]},
            )


def source_of(demand: Demand) -> str:
    return f"demand:{demand.id}"


def load_demand(session: Session, demand_id: int) -> Demand:
    demand = session.get(Demand, demand_id)
    if demand is None:
        raise NotFound("demand not found")
    return demand


def place_target(session: Session, demand: Demand) -> Target:
    return Target(place_path=named_place(session, demand.place_id).path)


def require_handler(session: Session, actor: Actor, demand: Demand) -> None:
    """Staff in scope, and never on a demand of their own."""
    require(actor, Action.HANDLE_DEMANDS, place_target(session, demand), what="demand")
    if demand.reporter_id == actor.user_id:
        raise SelfApproval("nobody handles their own demand")


def answering_departments(actor: Actor) -> list[int]:
    """The departments whose whistled demands the actor answers for (报到)."""
    return sorted(
        {
            grant.scope_id
            for grant in actor.grants
            if grant.scope_type is ScopeType.DEPARTMENT
            and allows(grant.role, Action.ANSWER_WHISTLES)
        }
    )


def is_owner(actor: Actor, demand: Demand) -> bool:
    if demand.owner_kind == OwnerKind.DEPARTMENT.value:
        return can(actor, Action.ANSWER_WHISTLES, Target(department_id=demand.owner_department_id))
    return demand.owner_user_id is not None and demand.owner_user_id == actor.user_id


def _require_owner(session: Session, actor: Actor, demand: Demand, *, on_behalf: bool) -> None:
    """The owner; or, with ``on_behalf`` and unless a department owns it (its officers
    must answer for themselves), the handling staff."""
    if is_owner(actor, demand):
        return
    if demand.owner_kind == OwnerKind.DEPARTMENT.value:
        # Staff in scope see it; anyone else finds nothing.
        require(actor, Action.HANDLE_DEMANDS, place_target(session, demand), what="demand")
        raise SelfApproval("only the department's officers answer a whistle")
    if not on_behalf:
        require(actor, Action.HANDLE_DEMANDS, place_target(session, demand), what="demand")
        raise SelfApproval("only the one it is assigned to does that")
    require_handler(session, actor, demand)


def move_demand(
    session: Session,
    actor: Actor,
    demand: Demand,
    action: DemandAction,
    now: datetime,
    *,
    note: str = "",
    details: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    """Move ``demand`` by ``action`` if nobody moved it meanwhile, setting ``values``
    and the deadline of the stage it enters; and note the step on its timeline."""
    current = DemandStatus(demand.status)
    target = transition(DEMAND_TRANSITIONS, current, action)
    note = note.strip()
    if action in NEEDS_A_REASON and not note:
        raise InvalidInput("say why", errors={"reason": ["required"]})
    after = {**_columns(demand), **values}
    stage = stage_of(target, _owner_kind(after["owner_kind"]), after["acknowledged_at"] is not None)
    due_at = after[f"{stage.value}_due_at"] if stage is not None else None
    moved = session.execute(
        update(DEMAND_TABLE)
        .where(
            DEMAND_TABLE.c.id == demand.id,
            DEMAND_TABLE.c.status == current.value,
            DEMAND_TABLE.c.version == demand.version,
        )
        .values(
            status=target.value,
            version=demand.version + 1,
            updated_at=now,
            due_stage=stage.value if stage is not None else None,
            due_at=due_at,
            **values,
        )
    )
    if not rows_changed(moved):
        raise DemandChanged("this demand changed a moment ago; reload it")
    _follow_whistle(session, actor, demand, action, values, now)
    session.add(
        DemandEvent(
            demand_id=demand.id,
            action=action.value,
            from_status=current.value,
            to_status=target.value,
            actor_id=actor.user_id,
            note=note,
            details=details or {},
            at=now,
        )
    )
    # The resident who raised it, and the one an order serves (代办), hear of each step
    # someone else took.
    told = [
        person
        for person in dict.fromkeys((demand.reporter_id, demand.served_user_id))
        if person is not None and person != actor.user_id
    ]
    if target is not current and told:
        tell(
            session,
            Topic.DEMAND_MOVED,
            told,
            {
                "demand_id": demand.id,
                "status": target.value,
                "status_name": STATUS_LABELS[target],
                "note": note,
            },
            source=f"demand:{demand.id}:v{demand.version + 1}",
        )
    session.flush()
    session.expire(demand)  # read back as stored


# What a department's answer to a whistle, or the lack of one, makes of it.
_WHISTLE_ENDED_BY = {
    DemandAction.RESOLVE: WhistleOutcome.RESOLVED,
    DemandAction.RETURN: WhistleOutcome.RETURNED,
    DemandAction.ASSIGN: WhistleOutcome.WITHDRAWN,
    DemandAction.ESCALATE: WhistleOutcome.WITHDRAWN,
}


def _follow_whistle(
    session: Session,
    actor: Actor,
    demand: Demand,
    action: DemandAction,
    values: dict[str, Any],
    now: datetime,
) -> None:
    """Keep the record of each whistle (吹哨报到) in step with the demand: its 报到, its
    answer, or staff taking it back; and a new one when it is whistled."""
    if demand.owner_kind == OwnerKind.DEPARTMENT.value:
        open_whistle = update(WHISTLE_TABLE).where(
            WHISTLE_TABLE.c.demand_id == demand.id, WHISTLE_TABLE.c.answered_at.is_(None)
        )
        if action is DemandAction.START:
            session.execute(open_whistle.values(acknowledged_at=now))
        elif action in _WHISTLE_ENDED_BY:
            session.execute(
                open_whistle.values(answered_at=now, outcome=_WHISTLE_ENDED_BY[action].value)
            )
    if action is DemandAction.ASSIGN and values.get("owner_kind") == OwnerKind.DEPARTMENT.value:
        session.add(
            DemandWhistle(
                demand_id=demand.id,
                department_id=values["owner_department_id"],
                whistled_by_id=actor.user_id,
                whistled_at=now,
                acknowledge_due_at=values["acknowledge_due_at"],
                answer_due_at=values["resolve_due_at"],
            )
        )


def _columns(demand: Demand) -> dict[str, Any]:
    return {column.name: getattr(demand, column.key) for column in DEMAND_TABLE.columns}


def _owner_kind(value: str | None) -> OwnerKind | None:
    return OwnerKind(value) if value else None


_NO_OWNER = {
    "owner_kind": None,
    "owner_user_id": None,
    "owner_department_id": None,
    "owner_task_id": None,
    "acknowledged_at": None,
}


def _step(uow: UnitOfWork, demand_id: int, take: Any) -> Demand:
    with uow:
        session = uow.session
        demand = load_demand(session, demand_id)
        take(session, demand)
        uow.commit()
        session.refresh(demand)
        return demand


def accept_demand(
    uow: UnitOfWork,
    actor: Actor,
    demand_id: int,
    now: datetime,
    *,
    level: DemandLevel = DemandLevel.GRID,
    note: str = "",
) -> Decided:
    """立项 at ``level`` (三事分流), with its deadline to resolve; the reporter is
    credited by the rules for an accepted report, once. An order (点单) is no report of a
    problem: whoever filed it for a household earns by the task that serves it."""
    with uow:
        session = uow.session
        demand = load_demand(session, demand_id)
        require_handler(session, actor, demand)
        move_demand(
            session,
            actor,
            demand,
            DemandAction.ACCEPT,
            now,
            note=note,
            details={"level": level.value},
            handled_by_id=actor.user_id,
            accepted_at=now,
            level=level.value,
            resolve_due_at=deadline(session, Stage.RESOLVE, level, demand.category, now),
        )
        transfers = (
            []
            if demand.order_kind is not None
            else credit_work(
                session,
                Work(
                    source=source_of(demand),
                    user_id=demand.reporter_id,
                    place_id=demand.place_id,
                    done_at=demand.created_at,
                    facts=Facts(
                        event=EarningEvent.PROBLEM_REPORT_ACCEPTED,
                        role=Role(demand.reporter_role),
                        category=Category(demand.category),
                    ),
                    actor_id=actor.user_id,
                ),
                now,
            ).transfers
        )
        record(
            session,
            actor_id=actor.user_id,
            action="demand.accept",
            object_type="demand",
            object_id=demand.id,
            before={"status": DemandStatus.SUBMITTED.value},
            after={
                "status": DemandStatus.ACCEPTED.value,
                "user_id": demand.reporter_id,
                "level": level.value,
                "transfers": points_moved(transfers),
            },
            place_id=demand.place_id,
        )
        uow.commit()
        session.refresh(demand)
        return Decided(demand, transfers)


def decline_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, reason: str, now: datetime
) -> Demand:
    def take(session: Session, demand: Demand) -> None:
        require_handler(session, actor, demand)
        move_demand(
            session,
            actor,
            demand,
            DemandAction.DECLINE,
            now,
            note=reason,
            handled_by_id=actor.user_id,
            decline_reason=reason.strip(),
        )

    return _step(uow, demand_id, take)


def assign_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, owner: Owner, now: datetime, *, note: str = ""
) -> Demand:
    """交办 to a member or volunteer, to oneself, or to a department (吹哨报到, whose
    officers must 报到 within the acknowledge limit and respond within the resolve
    limit, both from now)."""

    def take(session: Session, demand: Demand) -> None:
        require_handler(session, actor, demand)
        values: dict[str, Any] = {**_NO_OWNER, "owner_kind": owner.kind.value, "assigned_at": now}
        details: dict[str, Any] = {"owner": owner.kind.value}
        match owner.kind:
            case OwnerKind.MEMBER:
                assert owner.user_id is not None  # Owner checks it
                _require_member_here(session, owner.user_id, demand, now)
                values["owner_user_id"] = details["user_id"] = owner.user_id
            case OwnerKind.STAFF:
                values["owner_user_id"] = details["user_id"] = actor.user_id
            case OwnerKind.DEPARTMENT:
                assert owner.department_id is not None
                if session.get(Department, owner.department_id) is None:
                    raise NotFound(
                        "department not found", errors={"department_id": ["no such department"]}
                    )
                level = DemandLevel(demand.level or DemandLevel.GRID.value)
                values["owner_department_id"] = details["department_id"] = owner.department_id
                values["whistled_at"] = now
                values["acknowledge_due_at"] = deadline(
                    session, Stage.ACKNOWLEDGE, level, demand.category, now
                )
                values["resolve_due_at"] = deadline(
                    session, Stage.RESOLVE, level, demand.category, now
                )
        move_demand(
            session, actor, demand, DemandAction.ASSIGN, now, note=note, details=details, **values
        )

    return _step(uow, demand_id, take)


def _require_member_here(session: Session, user_id: int, demand: Demand, now: datetime) -> None:
    """A member or volunteer who lives or serves where the demand is."""
    refused = NotFound(
        "no such member here", errors={"user_id": ["not a member or volunteer of this place"]}
    )
    assignee = load_actor(session, user_id)
    if not {Role.MEMBER, Role.VOLUNTEER} & assignee.roles:
        raise refused
    path = named_place(session, demand.place_id).path
    prefixes, _ = home_places(session, user_id, local_date(now))
    serves_here = any(
        grant.scope_path is not None and path.startswith(grant.scope_path)
        for grant in assignee.grants
    )
    if not serves_here and not any(path.startswith(prefix) for prefix in prefixes):
        raise refused


def start_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, now: datetime, *, note: str = ""
) -> Demand:
    """落实 begins; for a department, this is its 报到 (acknowledgement)."""

    def take(session: Session, demand: Demand) -> None:
        _require_owner(session, actor, demand, on_behalf=False)
        values: dict[str, Any] = {}
        if demand.owner_kind == OwnerKind.DEPARTMENT.value:
            values["acknowledged_at"] = now
        move_demand(session, actor, demand, DemandAction.START, now, note=note, **values)

    return _step(uow, demand_id, take)


def return_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, reason: str, now: datetime
) -> Demand:
    """The owner hands it back (not theirs to do; a department's refusal, with its
    reason): staff assign it anew."""

    def take(session: Session, demand: Demand) -> None:
        _require_owner(session, actor, demand, on_behalf=False)
        move_demand(session, actor, demand, DemandAction.RETURN, now, note=reason, **_NO_OWNER)

    return _step(uow, demand_id, take)


def escalate_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, reason: str, now: datetime
) -> Demand:
    """Up a level (grid → community → street), with a reason: the new level assigns it
    anew and has its own time to resolve it, from now."""

    def take(session: Session, demand: Demand) -> None:
        require_handler(session, actor, demand)
        level = DemandLevel(demand.level or DemandLevel.GRID.value).above()
        move_demand(
            session,
            actor,
            demand,
            DemandAction.ESCALATE,
            now,
            note=reason,
            details={"from_level": demand.level, "level": level.value},
            **_NO_OWNER,
            level=level.value,
            resolve_due_at=deadline(session, Stage.RESOLVE, level, demand.category, now),
        )

    return _step(uow, demand_id, take)


def resolve_demand(
    uow: UnitOfWork,
    actor: Actor,
    demand_id: int,
    resolution: str,
    now: datetime,
    *,
    upload_ids: tuple[int, ...] = (),
) -> Demand:
    """反馈: the owner (or staff for them) says what was done, with photos."""

    def take(session: Session, demand: Demand) -> None:
        _require_owner(session, actor, demand, on_behalf=True)
        photos = check_own_photos(session, actor.user_id, upload_ids, now)
        record_resolution(session, actor, demand, resolution, photos, now)

    return _step(uow, demand_id, take)


def record_resolution(
    session: Session,
    actor: Actor,
    demand: Demand,
    resolution: str,
    upload_ids: list[int],
    now: datetime,
) -> None:
    """The 反馈 step itself, for the owner's report or a task's approved work."""
    level = DemandLevel(demand.level or DemandLevel.GRID.value)
    move_demand(
        session,
        actor,
        demand,
        DemandAction.RESOLVE,
        now,
        note=resolution,
        details={"upload_ids": upload_ids},
        resolution=resolution.strip(),
        resolution_upload_ids=upload_ids,
        resolved_by_id=actor.user_id,
        resolved_at=now,
        verify_due_at=deadline(session, Stage.VERIFY, level, demand.category, now),
    )


def verify_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, now: datetime, *, note: str = ""
) -> Demand:
    """核查: staff confirm it was done; never the one who did it or reported it."""

    def take(session: Session, demand: Demand) -> None:
        require_handler(session, actor, demand)
        if actor.user_id in (demand.resolved_by_id, demand.owner_user_id):
            raise SelfApproval("nobody verifies their own work")
        move_demand(
            session,
            actor,
            demand,
            DemandAction.VERIFY,
            now,
            note=note,
            verified_by_id=actor.user_id,
            verified_at=now,
        )

    return _step(uow, demand_id, take)


def send_back_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, reason: str, now: datetime
) -> Demand:
    """核查 found it not done: back to its owner's 落实, with the reason."""

    def take(session: Session, demand: Demand) -> None:
        require_handler(session, actor, demand)
        move_demand(session, actor, demand, DemandAction.SEND_BACK, now, note=reason)

    return _step(uow, demand_id, take)


def publish_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, summary: str, now: datetime
) -> Demand:
    """公示: on the community's public list, in the words staff write for it."""

    def take(session: Session, demand: Demand) -> None:
        require_handler(session, actor, demand)
        move_demand(
            session,
            actor,
            demand,
            DemandAction.PUBLISH,
            now,
            note=summary,
            public_summary=summary.strip(),
            published_at=now,
        )

    return _step(uow, demand_id, take)


def close_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, now: datetime, *, note: str = ""
) -> Demand:
    """销号: a published or verified demand; or an accepted one that went away."""

    def take(session: Session, demand: Demand) -> None:
        require_handler(session, actor, demand)
        move_demand(session, actor, demand, DemandAction.CLOSE, now, note=note, closed_at=now)

    return _step(uow, demand_id, take)


def merge_demand(
    uow: UnitOfWork, actor: Actor, demand_id: int, into_id: int, now: datetime
) -> Demand:
    """The same problem as another demand (移动探头 often see one thing): declined as its
    duplicate, its reporter told which, earning nothing for it."""

    def take(session: Session, demand: Demand) -> None:
        require_handler(session, actor, demand)
        into = session.get(Demand, into_id)
        if into is None or into.id == demand.id:
            raise NotFound("demand not found", errors={"into": ["no such other demand"]})
        require(actor, Action.HANDLE_DEMANDS, place_target(session, into), what="demand")
        original = into.duplicate_of_id or into.id  # a duplicate's duplicate joins the first
        reason = f"与诉求 #{original} 反映的是同一问题，已合并办理"
        move_demand(
            session,
            actor,
            demand,
            DemandAction.MERGE,
            now,
            note=reason,
            details={"into": original},
            handled_by_id=actor.user_id,
            decline_reason=reason,
            duplicate_of_id=original,
        )

    return _step(uow, demand_id, take)
