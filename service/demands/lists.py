"""三个清单: the problem list (every demand: its state, level, owner and deadline), the
task list (what was handed to whom, by when, and whether it is late) and the effect
list (what was done, and how residents rated it), each for a place subtree, a period,
a level and a category; read a page at a time, or whole for a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session, aliased, lazyload

from points.access import Action, Actor, Target, place_prefixes, require
from points.calendar import local_midnight
from points.demands import DemandLevel, DemandStatus
from points.errors import Forbidden, InvalidInput
from points.rules import Category
from service.demands.models import Demand, DemandRating
from service.organisation.models import Department
from service.people.models import User
from service.places.models import Place
from service.places.tree import named_place


class DemandList(StrEnum):
    PROBLEMS = "problems"  # 问题清单
    TASKS = "tasks"  # 任务清单
    EFFECTS = "effects"  # 效果清单


@dataclass(frozen=True)
class ListFilter:
    place_id: int | None = None
    first: date | None = None  # local days, both included
    last: date | None = None
    level: DemandLevel | None = None
    category: Category | None = None


@dataclass(frozen=True, slots=True)
class ListRow:
    id: int
    place: str
    category: str
    description: str
    status: str
    level: str | None
    owner_kind: str | None
    owner: str | None  # who has it, by name
    created_at: datetime
    assigned_at: datetime | None
    due_at: datetime | None  # the stage it waits in
    resolve_due_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    public_summary: str | None
    closed_at: datetime | None
    rating: int | None
    rating_comment: str | None
    overdue: bool


# When each list counts a demand in the period: sent in, handed out, or closed.
_DATED_BY = {
    DemandList.PROBLEMS: Demand.created_at,
    DemandList.TASKS: Demand.assigned_at,
    DemandList.EFFECTS: Demand.closed_at,
}
_ORDER = {
    DemandList.PROBLEMS: (Demand.created_at.desc(), Demand.id.desc()),
    DemandList.TASKS: (Demand.resolve_due_at, Demand.id),
    DemandList.EFFECTS: (Demand.closed_at.desc(), Demand.id.desc()),
}
_OWNER_USER = aliased(User)


def _query(session: Session, actor: Actor, which: DemandList, wanted: ListFilter) -> Select[Any]:
    prefixes = place_prefixes(actor, Action.HANDLE_DEMANDS)
    if not prefixes:
        raise Forbidden("your roles do not include handling demands")
    conditions: list[ColumnElement[bool]] = [
        or_(*(Place.path.startswith(prefix) for prefix in prefixes))
    ]
    if wanted.place_id is not None:
        place = named_place(session, wanted.place_id)
        require(actor, Action.HANDLE_DEMANDS, Target(place_path=place.path), what="place")
        conditions.append(Place.path.startswith(place.path))
    dated = _DATED_BY[which]
    if wanted.first and wanted.last and wanted.last < wanted.first:
        raise InvalidInput("the period ends before it starts", errors={"to": ["before from"]})
    if wanted.first is not None:
        conditions.append(dated >= local_midnight(wanted.first))
    if wanted.last is not None:
        conditions.append(dated < local_midnight(wanted.last + timedelta(days=1)))
    if wanted.level is not None:
        conditions.append(Demand.level == wanted.level.value)
    if wanted.category is not None:
        conditions.append(Demand.category == wanted.category.value)
    if which is DemandList.TASKS:
        conditions.append(Demand.assigned_at.is_not(None))
    elif which is DemandList.EFFECTS:
        conditions.append(Demand.closed_at.is_not(None))
    query = (
        select(
            Demand,
            Place.name,
            _OWNER_USER.name,
            Department.name,
            DemandRating.score,
            DemandRating.comment,
        )
        .join(Place, Place.id == Demand.place_id)
        .outerjoin(_OWNER_USER, _OWNER_USER.id == Demand.owner_user_id)
        .outerjoin(Department, Department.id == Demand.owner_department_id)
        .outerjoin(DemandRating, DemandRating.demand_id == Demand.id)
        .where(*conditions)
        .order_by(*_ORDER[which])
        # The rating comes by the join above, not by the relationship's own query.
        .options(lazyload(Demand.rating))
    )
    return cast("Select[Any]", query)


def _row(found: Any, now: datetime) -> ListRow:
    demand, place, user_name, department_name, score, comment = found
    owner = user_name or department_name
    if demand.owner_task_id is not None:
        owner = f"任务 #{demand.owner_task_id}"
    return ListRow(
        id=demand.id,
        place=place,
        category=demand.category,
        description=demand.description,
        status=demand.status,
        level=demand.level,
        owner_kind=demand.owner_kind,
        owner=owner,
        created_at=demand.created_at,
        assigned_at=demand.assigned_at,
        due_at=demand.due_at,
        resolve_due_at=demand.resolve_due_at,
        resolved_at=demand.resolved_at,
        resolution=demand.resolution,
        public_summary=demand.public_summary,
        closed_at=demand.closed_at,
        rating=score,
        rating_comment=comment,
        overdue=bool(
            DemandStatus(demand.status).open and demand.due_at is not None and demand.due_at < now
        ),
    )


def list_page(
    session: Session,
    actor: Actor,
    which: DemandList,
    wanted: ListFilter,
    now: datetime,
    limit: int,
    offset: int,
) -> list[ListRow]:
    query = _query(session, actor, which, wanted).offset(offset).limit(limit)
    return [_row(found, now) for found in session.execute(query)]


def every_row(
    session: Session, actor: Actor, which: DemandList, wanted: ListFilter, now: datetime
) -> Iterator[ListRow]:
    """The whole list, read in batches so a street's hundred thousand rows never sit in
    memory at once (for the spreadsheet)."""
    query = _query(session, actor, which, wanted).execution_options(yield_per=1_000)
    for found in session.execute(query):
        yield _row(found, now)
