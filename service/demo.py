"""The demo world: one street, two communities with grids, and the people who work there.

Seeding is idempotent: a second run finds what the first created (by place name
under its parent, by openid) and reports the same world, so ``make run`` can seed
on every start. Later features add their demo objects here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.access import Role, ScopeType
from points.calendar import LOCAL_TIME, local_date
from points.places import PlaceLevel
from points.redemption import ItemAudience, LimitPeriod
from points.rules import (
    Category,
    TaskType,
    WorkUnit,
    dump_rule_set,
    parse_rule_set,
    starter_rule_set,
)
from points.tasks import Audience, CheckinMode, TaskStatus
from service.db import utcnow
from service.demands.models import Demand
from service.households.models import Household
from service.organisation.models import Branch, Department, Pairing, Station
from service.people.directory import ensure_grant, ensure_user
from service.people.models import User
from service.places.models import Place
from service.places.tree import add_place, find_child
from service.rules.models import RuleSetVersion
from service.stations.models import CatalogueItem
from service.tasks.models import Task
from service.unit_of_work import UnitOfWork

_Row = TypeVar("_Row", Department, Branch, Pairing)

STREET = "连心街道"
DEPARTMENT = "区民政局"
DEPARTMENT_BRANCH = "区民政局机关党支部"
PAIRED_SINCE = date(2026, 1, 1)
# Per community: title, type, category, work unit, hour it starts tomorrow, hours, capacity.
DEMO_TASKS = (
    ("敲门行动：走访独居老人", TaskType.DOOR_KNOCK, Category.SERVICE, WorkUnit.HOUSEHOLDS, 9, 3, 6),
    ("送菜上门", TaskType.ELDER_DELIVERY, Category.CHARITY, WorkUnit.HOURS, 10, 2, 4),
    (
        "反诈宣传：帮居民装国家反诈APP",
        TaskType.ANTI_FRAUD,
        Category.SAFETY,
        WorkUnit.RESIDENTS_HELPED,
        14,
        2,
        8,
    ),
    ("夜间安全巡逻", TaskType.PATROL, Category.SAFETY, WorkUnit.HOURS, 19, 2, 5),
)
# Per grid: door label and needs (党员联户: the households members look after).
DEMO_HOUSEHOLDS = (
    ("1栋1单元101", "独居老人"),
    ("1栋2单元302", "行动不便，需送菜上门"),
    ("2栋1单元501", ""),
)
# Per community: the open demand its first resident reported.
DEMO_DEMANDS = (
    (Category.FACILITY, "3栋楼道路灯不亮，老人晚上下楼不方便"),
    (Category.ENVIRONMENT, "小区东门垃圾桶满溢，气味很大"),
)
# A GCJ-02 point per community, as the mini-program's map would give it.
DEMO_POINTS = ((39.9163, 116.4039), (39.9288, 116.4172))
COMMUNITIES = (
    ("幸福社区", ("幸福第一网格", "幸福第二网格")),
    ("和平社区", ("和平第一网格", "和平第二网格")),
)
ADMIN = ("demo-admin-1", "周建华")
# Per community: a station, its clerk (驿站管理员), and what it hands out. The first
# item costs 5 幸福币, what one door-knocking visit of three households earns.
STATIONS = (
    ("幸福社区小蜜蜂驿站", "幸福路18号", ("demo-clerk-1", "高雪")),
    ("和平社区爱心超市", "和平街6号", ("demo-clerk-2", "罗刚")),
)
# name, description, price in 幸福币, stock, per-member limit per month, members only
DEMO_ITEMS = (
    ("抽纸一提", "三层抽纸，一提6包", 5, 50, 2, False),
    ("洗衣液 2kg", "", 20, 30, 1, False),
    ("大米 5kg", "党员志愿服务专享", 50, 10, 1, True),
)
# Per community: staff (社区工作者), party members (党员), volunteers, residents.
PEOPLE = (
    {
        Role.STAFF: [("demo-staff-1", "王芳")],
        Role.MEMBER: [
            ("demo-member-1", "李建国"),
            ("demo-member-2", "张秀英"),
            ("demo-member-3", "刘伟"),
        ],
        Role.VOLUNTEER: [("demo-volunteer-1", "陈静"), ("demo-volunteer-2", "杨洋")],
        Role.RESIDENT: [("demo-resident-1", "赵桂兰"), ("demo-resident-2", "黄志强")],
    },
    {
        Role.STAFF: [("demo-staff-2", "吴敏")],
        Role.MEMBER: [
            ("demo-member-4", "孙国庆"),
            ("demo-member-5", "马丽"),
            ("demo-member-6", "朱红梅"),
        ],
        Role.VOLUNTEER: [("demo-volunteer-3", "胡海涛"), ("demo-volunteer-4", "郭婷")],
        Role.RESIDENT: [("demo-resident-3", "何淑珍"), ("demo-resident-4", "林志明")],
    },
)


@dataclass
class DemoWorld:
    """What the seed created, as ``demo seed --json`` prints it. Scripts and the
    mini-program team drive the demo with it, so its shape doesn't change."""

    places: list[dict[str, Any]] = field(default_factory=list)
    departments: list[dict[str, Any]] = field(default_factory=list)
    branches: list[dict[str, Any]] = field(default_factory=list)
    pairings: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    stations: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    rule_sets: list[dict[str, Any]] = field(default_factory=list)
    households: list[dict[str, Any]] = field(default_factory=list)
    demands: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "places": self.places,
            "departments": self.departments,
            "branches": self.branches,
            "pairings": self.pairings,
            "users": self.users,
            "stations": self.stations,
            "tasks": self.tasks,
            "rule_sets": self.rule_sets,
            "households": self.households,
            "demands": self.demands,
        }


def seed_demo_world(uow: UnitOfWork) -> DemoWorld:
    with uow:
        session = uow.session
        world = DemoWorld()

        def place(parent: Place | None, name: str, level: PlaceLevel) -> Place:
            node = find_child(session, parent, name) or add_place(session, parent, name, level)
            world.places.append(
                {"id": node.id, "name": node.name, "level": node.level, "parent_id": node.parent_id}
            )
            return node

        def person(openid: str, name: str, role: Role, scope: Place, home: Place) -> User:
            user = ensure_user(session, openid=openid, name=name, residence_place_id=home.id)
            ensure_grant(session, user, role, ScopeType.ORG, scope.id)
            return user

        def get_or_add(model: type[_Row], **key: Any) -> _Row:
            found = session.scalars(select(model).filter_by(**key)).one_or_none()
            if found is None:
                found = model(**key)
                session.add(found)
                session.flush()
            return found

        street = place(None, STREET, PlaceLevel.STREET)
        department = get_or_add(Department, name=DEPARTMENT)
        department_branch = get_or_add(Branch, name=DEPARTMENT_BRANCH, department_id=department.id)
        world.departments.append({"id": department.id, "name": department.name})
        branches = [department_branch]
        people: list[User] = [person(*ADMIN, Role.ADMIN, street, street)]
        for number, ((community_name, grid_names), roster) in enumerate(
            zip(COMMUNITIES, PEOPLE, strict=True)
        ):
            community = place(street, community_name, PlaceLevel.COMMUNITY)
            grids = [place(community, name, PlaceLevel.GRID) for name in grid_names]
            branch = get_or_add(Branch, name=f"{community_name}党支部", place_id=community.id)
            branches.append(branch)
            if number == 0:  # 结对共建: the department serves the first community
                pairing = get_or_add(
                    Pairing,
                    department_id=department.id,
                    place_id=community.id,
                    started_on=PAIRED_SINCE,
                )
                world.pairings.append(
                    {
                        "id": pairing.id,
                        "department_id": department.id,
                        "place_id": community.id,
                        "started_on": pairing.started_on.isoformat(),
                    }
                )
            for role, entries in roster.items():
                for index, (openid, name) in enumerate(entries):
                    home = grids[index % len(grids)]
                    # Staff serve the whole community; everyone else belongs to their grid.
                    scope = community if role is Role.STAFF else home
                    user = person(openid, name, role, scope, home)
                    if role is Role.MEMBER:
                        # 双报到: the first member works at the department and lives here.
                        first = number == 0 and index == 0
                        user.home_branch_id = (department_branch if first else branch).id
                    people.append(user)
        world.branches = [
            {"id": b.id, "name": b.name, "department_id": b.department_id, "place_id": b.place_id}
            for b in branches
        ]

        staff_ids = {u.openid: u.id for u in people}
        for number, community_id in enumerate(
            p["id"] for p in world.places if p["level"] == "community"
        ):
            staff_id = staff_ids[f"demo-staff-{number + 1}"]
            for task in _demo_tasks(session, community_id, staff_id, DEMO_POINTS[number]):
                world.tasks.append(
                    {
                        "id": task.id,
                        "org_id": task.place_id,
                        "title": task.title,
                        "type": task.type,
                        "starts_at": task.starts_at.astimezone(LOCAL_TIME).isoformat(),
                    }
                )
        residents = {u.openid: u for u in people}
        for number, community_id in enumerate(
            p["id"] for p in world.places if p["level"] == "community"
        ):
            grid_ids = [p["id"] for p in world.places if p["parent_id"] == community_id]
            for grid_id in grid_ids:
                for household in _demo_households(session, grid_id):
                    world.households.append(
                        {
                            "id": household.id,
                            "org_id": household.place_id,
                            "label": household.label,
                            "needs": household.needs,
                        }
                    )
            # The community's first resident reports a problem in their grid.
            reporter = residents[f"demo-resident-{2 * number + 1}"]
            demand = _demo_demand(session, reporter, DEMO_DEMANDS[number])
            world.demands.append(
                {
                    "id": demand.id,
                    "org_id": demand.place_id,
                    "category": demand.category,
                    "status": demand.status,
                    "reporter_openid": reporter.openid,
                }
            )
        community_ids = [p["id"] for p in world.places if p["level"] == "community"]
        for number, community_id in enumerate(community_ids):
            name, address, (openid, clerk_name) = STATIONS[number]
            station = _demo_station(session, community_id, name, address, DEMO_POINTS[number])
            clerk = ensure_user(
                session, openid=openid, name=clerk_name, residence_place_id=community_id
            )
            ensure_grant(session, clerk, Role.CLERK, ScopeType.STATION, station.id)
            people.append(clerk)
            world.stations.append(
                {
                    "id": station.id,
                    "org_id": station.place_id,
                    "name": station.name,
                    "clerk_openids": [openid],
                    "items": [
                        {
                            "id": item.id,
                            "name": item.name,
                            "price": item.price,
                            "currency": item.currency,
                            "stock": item.stock,
                        }
                        for item in _demo_items(session, station)
                    ],
                }
            )
        # The starter rules price accepted reports (问题上报) and visits (入户走访) too.
        rules = _published_starter_rules(session, street)
        world.rule_sets.append(
            {
                "id": rules.id,
                "org_id": street.id,
                "label": rules.label,
                "effective_from": rules.effective_from.isoformat(),
            }
        )
        world.users = [
            {
                "id": user.id,
                "openid": user.openid,
                "name": user.name,
                "residence_place_id": user.residence_place_id,
                "home_branch_id": user.home_branch_id,
                "roles": [
                    {"role": g.role, "scope_type": g.scope_type, "scope_id": g.scope_id}
                    for g in user.grants
                ],
            }
            for user in people
        ]
        uow.commit()
        return world


def _demo_households(session: Session, grid_id: int) -> list[Household]:
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


def _demo_demand(session: Session, reporter: User, spec: tuple[Category, str]) -> Demand:
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


def _published_starter_rules(session: Session, street: Place) -> RuleSetVersion:
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


def _demo_tasks(
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


def _demo_station(
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


def _demo_items(session: Session, station: Station) -> list[CatalogueItem]:
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
