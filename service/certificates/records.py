"""Service records (志愿服务记录): every approved participation, with the organisation
that posted the task, what, where, when and the hours credited."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from points.calendar import local_date, local_midnight
from points.places import PlaceLevel, ancestor_ids, nearest
from points.tasks import ParticipationStatus
from service.places.models import Place
from service.tasks.models import Participation, Task


@dataclass(frozen=True)
class Organisation:
    """Who posted the work: the community (or the street, a grid's…) at or above the
    task's place, as 志愿服务记录 names the organisation that recorded it."""

    id: int
    name: str


@dataclass(frozen=True)
class ServiceRecord:
    participation_id: int
    task_id: int
    title: str
    category: str
    type: str
    organisation: Organisation
    place: str  # where: the task's address, or its place's name
    starts_at: datetime
    ends_at: datetime
    served_on: date  # the local day the task began, the day its credit counts for
    hours: Decimal  # as the approval credited them (0 for work counted only in units)
    units: int | None
    work_unit: str
    approved_at: datetime | None


@dataclass(frozen=True)
class YearTotal:
    year: int
    services: int
    hours: Decimal


def _approved(user_id: int) -> list[ColumnElement[bool]]:
    return [
        Participation.user_id == user_id,
        Participation.status == ParticipationStatus.APPROVED.value,
    ]


def _between(first: date, last: date) -> list[ColumnElement[bool]]:
    """Work whose task began on a local day from ``first`` to ``last``, both included."""
    return [
        Task.starts_at >= local_midnight(first),
        Task.starts_at < local_midnight(last + timedelta(days=1)),
    ]


def service_records(
    session: Session, user_id: int, year: int | None, limit: int, offset: int
) -> list[ServiceRecord]:
    """One person's records, newest first; of one local year if ``year`` is given."""
    wanted = _approved(user_id)
    if year is not None:
        wanted += _between(date(year, 1, 1), date(year, 12, 31))
    rows = session.execute(
        select(Participation, Task)
        .join(Task, Task.id == Participation.task_id)
        .where(*wanted)
        .order_by(Task.starts_at.desc(), Participation.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return _records(session, [(p, t) for p, t in rows])


def records_between(session: Session, user_id: int, first: date, last: date) -> list[ServiceRecord]:
    """Every record of a period, oldest first: what a certificate lists."""
    rows = session.execute(
        select(Participation, Task)
        .join(Task, Task.id == Participation.task_id)
        .where(*_approved(user_id), *_between(first, last))
        .order_by(Task.starts_at, Participation.id)
    ).all()
    return _records(session, [(p, t) for p, t in rows])


def yearly_totals(session: Session, user_id: int) -> list[YearTotal]:
    """Services and hours per local year, newest year first. Added up here rather than
    in SQL: a year is a Beijing one, which neither backend groups by the same way, and
    one person's records are at most a few thousand rows."""
    rows = session.execute(
        select(Task.starts_at, Participation.hours)
        .join(Task, Task.id == Participation.task_id)
        .where(*_approved(user_id))
    ).all()
    totals: dict[int, tuple[int, Decimal]] = {}
    for starts_at, hours in rows:
        year = local_date(starts_at).year
        count, total = totals.get(year, (0, Decimal(0)))
        totals[year] = (count + 1, total + (hours or Decimal(0)))
    return [
        YearTotal(year, count, total.quantize(Decimal("0.01")))
        for year, (count, total) in sorted(totals.items(), reverse=True)
    ]


@dataclass(frozen=True)
class VerifiedHours:
    participation_id: int
    task_type: str
    served_on: date
    hours: Decimal


def verified_hours(session: Session, user_id: int) -> list[VerifiedHours]:
    """Every approved (and so not reversed) service with the hours its approval
    credited, oldest first: the one read of verified hours, which service levels and
    badges count. Hours entered by hand are not verified and belong out of it."""
    rows = session.execute(
        select(Participation.id, Task.type, Task.starts_at, Participation.hours)
        .join(Task, Task.id == Participation.task_id)
        .where(*_approved(user_id))
        .order_by(Task.starts_at, Participation.id)
    ).all()
    return [
        VerifiedHours(participation_id, task_type, local_date(starts_at), hours or Decimal("0.00"))
        for participation_id, task_type, starts_at, hours in rows
    ]


def _records(session: Session, rows: Sequence[tuple[Participation, Task]]) -> list[ServiceRecord]:
    places = places_above(session, {task.place_id for _, task in rows})
    return [
        ServiceRecord(
            participation_id=participation.id,
            task_id=task.id,
            title=task.title,
            category=task.category,
            type=task.type,
            organisation=organisation_of(places, task.place_id),
            place=task.address or places[task.place_id].name,
            starts_at=task.starts_at,
            ends_at=task.ends_at,
            served_on=local_date(task.starts_at),
            hours=participation.hours or Decimal("0.00"),
            units=participation.units,
            work_unit=task.work_unit,
            approved_at=participation.decided_at,
        )
        for participation, task in rows
    ]


def places_above(session: Session, place_ids: Iterable[int]) -> dict[int, Place]:
    """The places and every place above them, in two queries whatever their number."""
    wanted = set(place_ids)
    if not wanted:
        return {}
    paths = session.scalars(select(Place.path).where(Place.id.in_(wanted))).all()
    every = {place_id for path in paths for place_id in ancestor_ids(path)}
    return {place.id: place for place in session.scalars(select(Place).where(Place.id.in_(every)))}


def organisation_of(places: dict[int, Place], place_id: int) -> Organisation:
    """The nearest community at or above the place; the place itself if none is."""
    chain = [places[i] for i in ancestor_ids(places[place_id].path)]
    found = nearest([PlaceLevel(place.level) for place in chain], PlaceLevel.COMMUNITY)
    place = chain[found] if found is not None else places[place_id]
    return Organisation(place.id, place.name)
