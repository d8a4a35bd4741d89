"""The pieces the demo world is built from."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.access import Role
from points.calendar import LOCAL_TIME, local_date
from points.redemption import ItemAudience, LimitPeriod
from points.rules import (
    Category,
    dump_rule_set,
    parse_rule_set,
    starter_rule_set,
)
from points.tasks import Audience, CheckinMode, TaskStatus
from service.db import utcnow
from service.demands.models import Demand
from service.demo.cast import (
    DEMO_HOUSEHOLDS,
    DEMO_ITEMS,
    DEMO_TASKS,
    PAIRED_SINCE,
)
from service.households.models import Household
from service.organisation.models import Station
from service.people.models import User
from service.places.models import Place
from service.rules.models import RuleSetVersion
from service.stations.models import CatalogueItem
from service.tasks.models import Task


def demo_households(session: Session, grid_id: int) -> list[Household]:
    households = []
    for label, needs in DEMO_HOUSEHOLDS:
        household = session.scalars(
            select(Household).where(Household.place_id == grid_id, Household.label == label)
        ).one_or_none()
        if household is None:
            household = Household(place_id=grid_id, label=label, needs=needs)
            session.add(household)
            session.flush()
        households.append(household)
    return households


def demo_demand(session: Session, reporter: User, spec: tuple[Category, str]) -> Demand:
    category, description = spec
    assert reporter.residence_place_id is not None  # every demo person lives somewhere
    demand = session.scalars(
        select(Demand).where(Demand.reporter_id == reporter.id, Demand.description == description)
    ).first()
    if demand is None:
        demand = Demand(
            place_id=reporter.residence_place_id,
            category=category.value,
            description=description,
            reporter_id=reporter.id,
            reporter_role=Role.RESIDENT.value,
        )
        session.add(demand)
        session.flush()
    return demand


def published_starter_rules(session: Session, street: Place) -> RuleSetVersion:
    """Both currencies for every task type, each with a base so even a short task earns."""
    found = session.scalars(
        select(RuleSetVersion).where(
            RuleSetVersion.place_id == street.id, RuleSetVersion.status == "published"
        )
    ).first()
    if found is not None:
        return found
    version = RuleSetVersion(
        place_id=street.id,
        version=1,
        status="published",
        effective_from=PAIRED_SINCE,
        content=dump_rule_set(parse_rule_set(starter_rule_set())),
        note="demo: starter rules",
        published_at=utcnow(),
    )
    session.add(version)
    session.flush()
    return version


def demo_tasks(
    session: Session, community_id: int, staff_id: int, point: tuple[float, float]
) -> list[Task]:
    tomorrow = local_date(utcnow()) + timedelta(days=1)
    tasks = []
    for title, kind, category, unit, hour, hours, capacity in DEMO_TASKS:
        task = session.scalars(
            select(Task).where(Task.place_id == community_id, Task.title == title)
        ).first()
        if task is None:
            starts = datetime.combine(tomorrow, time(hour), tzinfo=LOCAL_TIME)
            task = Task(
                place_id=community_id,
                title=title,
                type=kind.value,
                category=category.value,
                work_unit=unit.value,
                description=f"{title}。请按时签到。",
                address="社区党群服务中心",
                lat=point[0],
                lng=point[1],
                radius_m=300,
                starts_at=starts,
                ends_at=starts + timedelta(hours=hours),
                capacity=capacity,
                audience=Audience.EVERYONE.value,
                checkin_mode=CheckinMode.BOTH.value,
                status=TaskStatus.PUBLISHED.value,
                created_by_id=staff_id,
            )
            session.add(task)
            session.flush()
        tasks.append(task)
    return tasks


def demo_station(
    session: Session, community_id: int, name: str, address: str, point: tuple[float, float]
) -> Station:
    station = session.scalars(
        select(Station).where(Station.place_id == community_id, Station.name == name)
    ).first()
    if station is None:
        station = Station(
            place_id=community_id,
            name=name,
            address=address,
            lat=point[0] + 0.001,
            lng=point[1] + 0.001,
            opening_hours="周一至周六 9:00-18:00",
        )
        session.add(station)
        session.flush()
    return station


def demo_items(session: Session, station: Station) -> list[CatalogueItem]:
    items = []
    for name, description, price, stock, limit, members_only in DEMO_ITEMS:
        item = session.scalars(
            select(CatalogueItem).where(
                CatalogueItem.station_id == station.id, CatalogueItem.name == name
            )
        ).first()
        if item is None:
            item = CatalogueItem(
                station_id=station.id,
                name=name,
                description=description,
                price=price,
                currency="xingfubi",
                stock=stock,
                per_member_limit=limit,
                limit_period=LimitPeriod.MONTH.value,
                audience=(ItemAudience.MEMBERS if members_only else ItemAudience.EVERYONE).value,
            )
            session.add(item)
            session.flush()
        items.append(item)
    return items
