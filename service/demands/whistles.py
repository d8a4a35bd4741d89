"""吹哨报到 by the numbers: how a department answered the whistles it received in a
period (报到率 counts in its assessment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, require
from points.calendar import Span, local_date, quarter_of
from points.demands import WhistleOutcome
from points.errors import InvalidInput, NotFound
from points.places import ancestor_ids
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
    whistles = list(
        session.scalars(
            select(DemandWhistle).where(
                DemandWhistle.department_id == department_id,
                DemandWhistle.whistled_at >= span.starts_at,
                DemandWhistle.whistled_at < span.ends_at,
            )
        )
    )
    acknowledged = [w for w in whistles if w.acknowledged_at is not None]
    on_time = [w for w in acknowledged if _by(w.acknowledged_at, w.acknowledge_due_at)]
    due = [w for w in whistles if w.acknowledged_at is not None or w.acknowledge_due_at <= now]
    answered = [w for w in whistles if w.answered_at is not None]
    resolved = [w for w in answered if w.outcome == WhistleOutcome.RESOLVED.value]
    answered_by_them = [w for w in answered if w.outcome != WhistleOutcome.WITHDRAWN.value]
    rated = [
        score
        for (score,) in session.execute(
            select(DemandRating.score).where(
                DemandRating.demand_id.in_([w.demand_id for w in resolved])
            )
        )
    ]
    return WhistleStats(
        department_id=department_id,
        span=span,
        received=len(whistles),
        due=len(due),
        acknowledged_on_time=len(on_time),
        acknowledged_late=len(acknowledged) - len(on_time),
        resolved=len(resolved),
        resolved_on_time=sum(1 for w in resolved if _by(w.answered_at, w.answer_due_at)),
        returned=sum(1 for w in answered if w.outcome == WhistleOutcome.RETURNED.value),
        withdrawn=sum(1 for w in answered if w.outcome == WhistleOutcome.WITHDRAWN.value),
        waiting=len(whistles) - len(answered),
        acknowledge_rate=round(len(on_time) / len(due), 4) if due else None,
        average_hours_to_acknowledge=_average_hours(
            [(w.whistled_at, w.acknowledged_at) for w in acknowledged]
        ),
        average_hours_to_answer=_average_hours(
            [(w.whistled_at, w.answered_at) for w in answered_by_them]
        ),
        average_rating=round(sum(rated) / len(rated), 2) if rated else None,
        ratings=len(rated),
    )


def _by(done: datetime | None, due: datetime) -> bool:
    return done is not None and done <= due


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
                Pairing.started_on <= today,
                or_(Pairing.ended_on.is_(None), Pairing.ended_on >= today),
            )
        )
    )
    departments = session.scalars(select(Department).order_by(Department.name, Department.id))
    choices = [WhistleChoice(department, department.id in paired) for department in departments]
    return sorted(choices, key=lambda choice: not choice.paired)  # stable: by name within
