"""吹哨报到 by the numbers: how a department answered the whistles it received in a
period (报到率 counts in its assessment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, require
from points.calendar import Span, local_date, quarter_of
from points.demands import WhistleOutcome
from points.errors import InvalidInput, NotFound
from points.places import ancestor_ids
from service.db import runs_on
from service.demands.loop import load_demand, place_target, require_handler
from service.demands.models import DemandRating, DemandWhistle
from service.organisation.models import Department, Pairing


@dataclass(frozen=True)
class WhistleStats:
    department_id: int
    span: Span
    received: int
    # Whistles whose time to 报到 has run out, or that were acknowledged: the ones 报到率
    # is over (one still within its time is not late yet).
    due: int
    acknowledged_on_time: int
    acknowledged_late: int
    resolved: int
    resolved_on_time: int
    returned: int
    withdrawn: int
    waiting: int  # not answered yet
    acknowledge_rate: float | None  # 报到率: on time / due
    average_hours_to_acknowledge: float | None
    average_hours_to_answer: float | None
    average_rating: float | None
    ratings: int


def whistle_stats(
    session: Session,
    actor: Actor,
    department_id: int,
    now: datetime,
    *,
    first: date | None = None,
    last: date | None = None,
) -> WhistleStats:
    """The department's whistles from ``first`` to ``last`` (local days, by when they
    were whistled; the current quarter by default), for its own officers and for
    admins of the whole organisation."""
    quarter = quarter_of(local_date(now))
    span = Span(first or quarter.first, last + timedelta(days=1) if last else quarter.end)
    if span.end <= span.first:
        raise InvalidInput("the period ends before it starts", errors={"to": ["before from"]})
    if session.get(Department, department_id) is None:
        raise NotFound("department not found")
    require(
        actor,
        Action.ANSWER_WHISTLES,
        Target(department_id=department_id, organisation_wide=True),
        what="department",
    )
    whistled_in = (
        DemandWhistle.department_id == department_id,
        DemandWhistle.whistled_at >= span.starts_at,
        DemandWhistle.whistled_at < span.ends_at,
    )
    counts = session.execute(select(*whistle_counts(now)).where(*whistled_in)).one()
    # The averages read the two moments of each answered whistle: a department
    # receives tens a quarter, and SQL has no interval arithmetic both backends share.
    whistles = list(
        session.execute(
            select(
                DemandWhistle.whistled_at,
                DemandWhistle.acknowledged_at,
                DemandWhistle.answered_at,
                DemandWhistle.outcome,
            ).where(*whistled_in)
        )
    )
    answered_by_them = [w for w in whistles if w.answered_at is not None and w.outcome != WITHDRAWN]
    rated = [
        score
        for (score,) in session.execute(
            select(DemandRating.score).where(
                DemandRating.demand_id.in_(
                    select(DemandWhistle.demand_id).where(
                        *whistled_in, DemandWhistle.outcome == WhistleOutcome.RESOLVED.value
                    )
                )
            )
        )
    ]
    return WhistleStats(
        department_id=department_id,
        span=span,
        received=counts.received,
        due=counts.due,
        acknowledged_on_time=counts.acknowledged_on_time,
        acknowledged_late=counts.acknowledged - counts.acknowledged_on_time,
        resolved=counts.resolved,
        resolved_on_time=counts.resolved_on_time,
        returned=counts.returned,
        withdrawn=counts.withdrawn,
        waiting=counts.received - counts.answered,
        acknowledge_rate=acknowledge_rate(counts.acknowledged_on_time, counts.due),
        average_hours_to_acknowledge=_average_hours(
            [(w.whistled_at, w.acknowledged_at) for w in whistles]
        ),
        average_hours_to_answer=_average_hours(
            [(w.whistled_at, w.answered_at) for w in answered_by_them]
        ),
        average_rating=round(sum(rated) / len(rated), 2) if rated else None,
        ratings=len(rated),
    )


WITHDRAWN = WhistleOutcome.WITHDRAWN.value


def whistle_counts(now: datetime) -> list[ColumnElement[int]]:
    """The counts 报到率 is made of, as aggregate columns over DemandWhistle rows: one
    department's here, a report's places (service/reports) grouped as it likes. A
    whistle is due once acknowledged or once its time to 报到 has run out; one still
    within its time is not late yet."""

    def number(condition: ColumnElement[bool], name: str) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(name)

    w = DemandWhistle
    acknowledged = w.acknowledged_at.is_not(None)
    resolved = w.outcome == WhistleOutcome.RESOLVED.value
    return [
        func.count(w.id).label("received"),
        number(or_(acknowledged, w.acknowledge_due_at <= now), "due"),
        number(acknowledged, "acknowledged"),
        number(
            and_(acknowledged, w.acknowledged_at <= w.acknowledge_due_at), "acknowledged_on_time"
        ),
        number(w.answered_at.is_not(None), "answered"),
        number(resolved, "resolved"),
        number(and_(resolved, w.answered_at <= w.answer_due_at), "resolved_on_time"),
        number(w.outcome == WhistleOutcome.RETURNED.value, "returned"),
        number(w.outcome == WITHDRAWN, "withdrawn"),
    ]


def acknowledge_rate(on_time: int, due: int) -> float | None:
    """报到率: whistles acknowledged on time over those due; None when none is due."""
    return round(on_time / due, 4) if due else None


def _average_hours(pairs: list[tuple[datetime, datetime | None]]) -> float | None:
    hours = [(end - start).total_seconds() / 3600 for start, end in pairs if end is not None]
    return round(sum(hours) / len(hours), 2) if hours else None


@dataclass(frozen=True)
class WhistleChoice:
    department: Department
    # 百部联百村: the department is paired with the demand's community (or a place above
    # it) on the day: it knows the place and answers for it first.
    paired: bool


def departments_to_whistle(
    session: Session, actor: Actor, demand_id: int, now: datetime
) -> list[WhistleChoice]:
    """The departments a demand may be whistled to (吹哨), the paired ones first."""
    demand = load_demand(session, demand_id)
    require_handler(session, actor, demand)
    path = place_target(session, demand).place_path or ""
    today = local_date(now)
    paired = set(
        session.scalars(
            select(Pairing.department_id).where(
                Pairing.place_id.in_(ancestor_ids(path)),
                runs_on(Pairing.started_on, Pairing.ended_on, today),
            )
        )
    )
    departments = session.scalars(select(Department).order_by(Department.name, Department.id))
    choices = [WhistleChoice(department, department.id in paired) for department in departments]
    return sorted(choices, key=lambda choice: not choice.paired)  # stable: by name within
