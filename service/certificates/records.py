"""Service records (志愿服务记录): every approved participation, with the organisation
that posted the task, what, where, when and the hours credited. Hours entered by staff
after the fact (补录) are credited like any, but counted apart from verified hours, the
ones check-in and check-out measured: ``verified_work`` is the one rule of which is
which, and ``verified_hours`` the total that levels and certificates rely on."""

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
    manual_entry: bool  # 补录: entered by staff, not measured by check-in


@dataclass(frozen=True)
class YearTotal:
    year: int
    services: int
    hours: Decimal  # every hour credited: verified_hours + entered_hours
    verified_hours: Decimal
    entered_hours: Decimal


def verified_work() -> ColumnElement[bool]:
    """Work whose hours check-in and check-out measured: not entered by hand (补录)."""
    return Participation.entered_by_id.is_(None)


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
        select(Task.starts_at, Participation.hours, verified_work())
        .join(Task, Task.id == Participation.task_id)
        .where(*_approved(user_id))
    ).all()
    totals: dict[int, tuple[int, Decimal, Decimal]] = {}
    for starts_at, hours, verified in rows:
        year = local_date(starts_at).year
        count, checked, entered = totals.get(year, (0, Decimal(0), Decimal(0)))
        served = hours or Decimal(0)
        if verified:
            checked += served
        else:
            entered += served
        totals[year] = (count + 1, checked, entered)
    cents = Decimal("0.01")
    return [
        YearTotal(
            year,
            count,
            (checked + entered).quantize(cents),
            checked.quantize(cents),
            entered.quantize(cents),
        )
        for year, (count, checked, entered) in sorted(totals.items(), reverse=True)
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
    badges count. Hours entered by hand (补录) are not verified and stay out of it."""
    rows = session.execute(
        select(Participation.id, Task.type, Task.starts_at, Participation.hours)
        .join(Task, Task.id == Participation.task_id)
        .where(*_approved(user_id), verified_work())
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
            manual_entry=participation.manual_entry,
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
