"""The demo world: one street, two communities with grids, and the people who work there.

Seeding is idempotent: a second run finds what the first created (by place name
under its parent, by openid) and reports the same world, so ``make run`` can seed
on every start. Later features add their demo objects here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.access import Role, ScopeType
from points.achievements import DEFAULT_LEVELS, Level, parse_levels
from points.calendar import LOCAL_TIME
from points.places import PlaceLevel
from service.auth.passwords import hash_password
from service.db import utcnow
from service.demo.cast import (
    ADMIN,
    COMMUNITIES,
    CONSOLE_USERNAMES,
    DEMO_CONSOLE_PASSWORD,
    DEMO_DEMANDS,
    DEMO_POINTS,
    DEPARTMENT,
    DEPARTMENT_BRANCH,
    OFFICER,
    PAIRED_SINCE,
    PEOPLE,
    RIDER,
    STATIONS,
    STREET,
    _Row,
)
from service.demo.certified import certify_past_service
from service.demo.journeys import walk_demand_journeys
from service.demo.orders import walk_orders
from service.demo.parts import (
    demo_demand,
    demo_households,
    demo_items,
    demo_station,
    demo_tasks,
    published_starter_rules,
)
from service.demo.proxied import walk_proxied
from service.demo.series import demo_patrol_series
from service.demo.served import serve_saturdays
from service.demo.waitlist import fill_a_task_with_a_waitlist
from service.organisation.models import Branch, Department, Pairing
from service.people.directory import ensure_grant, ensure_user
from service.people.models import User
from service.places.models import Place
from service.places.tree import add_place, find_child
from service.tasks.models import Task, TaskSeries
from service.unit_of_work import UnitOfWork


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
    # 点单 for an elder (代办) and a rider's report (移动探头).
    orders: list[dict[str, Any]] = field(default_factory=list)
    demands: list[dict[str, Any]] = field(default_factory=list)
    # Demands at each stage of the loop (立项 … 销号, a whistle, a low rating, overdue).
    demand_journeys: list[dict[str, Any]] = field(default_factory=list)
    # A past service approved and certified (志愿服务证明): its number, PDF and verify links.
    certificates: list[dict[str, Any]] = field(default_factory=list)
    # A full task with people waiting in line for a place (候补).
    waitlists: list[dict[str, Any]] = field(default_factory=list)
    # 服务星级: two members whose approved Saturdays put them at two different levels.
    levels: list[dict[str, Any]] = field(default_factory=list)
    # 代办: a resident with no smartphone, his proxy, and an errand filed for him.
    proxied: list[dict[str, Any]] = field(default_factory=list)
    # A weekly patrol per community (周期任务), with its occurrences posted.
    series: list[dict[str, Any]] = field(default_factory=list)

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
            "demand_journeys": self.demand_journeys,
            "orders": self.orders,
            "certificates": self.certificates,
            "waitlists": self.waitlists,
            "levels": self.levels,
            "proxied": self.proxied,
            "series": self.series,
        }


def give_console_usernames(people: Sequence[User]) -> None:
    """The demo's console accounts; a username already set (seeded before, or changed
    since) is left as it is."""
    hashed = None
    for user in people:
        username = CONSOLE_USERNAMES.get(user.openid or "")
        if username is not None and user.username is None:
            hashed = hashed or hash_password(DEMO_CONSOLE_PASSWORD)
            user.username, user.password_hash = username, hashed


def seed_demo_world(uow: UnitOfWork, levels: Sequence[Level] | None = None) -> DemoWorld:
    """The demo world; ``levels`` is the service-level ladder its JSON reports by (the
    default ladder if not given)."""
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
            ensure_grant(session, user, role, ScopeType.PLACE, scope.id)
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
        officer = ensure_user(session, openid=OFFICER[0], name=OFFICER[1], residence_place_id=None)
        ensure_grant(session, officer, Role.DEPT_OFFICER, ScopeType.DEPARTMENT, department.id)
        people.append(officer)
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
            for task in demo_tasks(session, community_id, staff_id, DEMO_POINTS[number]):
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
            staff_id = staff_ids[f"demo-staff-{number + 1}"]
            member_id = staff_ids[f"demo-member-{3 * number + 1}"]
            series = demo_patrol_series(
                session, community_id, staff_id, member_id, DEMO_POINTS[number], utcnow()
            )
            world.series.append(_series_entry(session, series, member_id))
        for number, community_id in enumerate(
            p["id"] for p in world.places if p["level"] == "community"
        ):
            grid_ids = [p["id"] for p in world.places if p["parent_id"] == community_id]
            for grid_id in grid_ids:
                for household in demo_households(session, grid_id):
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
            demand = demo_demand(session, reporter, DEMO_DEMANDS[number])
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
            station = demo_station(session, community_id, name, address, DEMO_POINTS[number])
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
                        for item in demo_items(session, station)
                    ],
                }
            )
        rider = ensure_user(session, openid=RIDER[0], name=RIDER[1], residence_place_id=None)
        people.append(rider)
        # The starter rules price accepted reports (问题上报) and visits (入户走访) too.
        rules = published_starter_rules(session, street)
        world.rule_sets.append(
            {
                "id": rules.id,
                "org_id": street.id,
                "label": rules.label,
                "effective_from": rules.effective_from.isoformat(),
            }
        )
        give_console_usernames(people)
        world.users = [
            {
                "id": user.id,
                "openid": user.openid,
                "name": user.name,
                "residence_place_id": user.residence_place_id,
                "home_branch_id": user.home_branch_id,
                "username": user.username,
                "roles": [
                    {"role": g.role, "scope_type": g.scope_type, "scope_id": g.scope_id}
                    for g in user.grants
                ],
            }
            for user in people
        ]
        uow.commit()
    # Each step its own transaction, as staff, members and officers take them.
    world.demand_journeys = walk_demand_journeys(uow, department.id, utcnow())
    world.orders = walk_orders(uow, DEMO_POINTS[0], DEMO_POINTS[1], utcnow())
    world.certificates = [certify_past_service(uow, community_ids[0], DEMO_POINTS[0], utcnow())]
    world.waitlists = [
        fill_a_task_with_a_waitlist(
            uow, community_ids[0], staff_ids["demo-staff-1"], DEMO_POINTS[0], utcnow()
        )
    ]
    ladder = parse_levels(DEFAULT_LEVELS) if levels is None else levels
    world.levels = serve_saturdays(uow, community_ids, DEMO_POINTS, ladder, utcnow())
    world.proxied = walk_proxied(uow, utcnow())
    return world


def _series_entry(session: Session, series: TaskSeries, member_id: int) -> dict[str, Any]:
    occurrences = session.scalars(
        select(Task).where(Task.series_id == series.id).order_by(Task.starts_at)
    )
    return {
        "id": series.id,
        "org_id": series.place_id,
        "title": series.title,
        "weekdays": series.weekdays,
        "start_time": series.start_time.strftime("%H:%M"),
        "member_id": member_id,  # signed up for the whole series
        "occurrences": [
            {
                "id": task.id,
                "occurrence_date": str(task.occurrence_date),
                "starts_at": task.starts_at.astimezone(LOCAL_TIME).isoformat(),
            }
            for task in occurrences
        ],
    }
