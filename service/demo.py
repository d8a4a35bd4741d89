"""The demo world: one street, two communities with grids, and the people who work there.

Seeding is idempotent: a second run finds what the first created (by place name
under its parent, by openid) and reports the same world, so ``make run`` can seed
on every start. Later features add their demo objects here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from points.access import Role, ScopeType
from points.places import PlaceLevel
from service.people.directory import ensure_grant, ensure_user
from service.people.models import User
from service.places.models import Place
from service.places.tree import add_place, find_child
from service.unit_of_work import UnitOfWork

STREET = "连心街道"
COMMUNITIES = (
    ("幸福社区", ("幸福第一网格", "幸福第二网格")),
    ("和平社区", ("和平第一网格", "和平第二网格")),
)
ADMIN = ("demo-admin-1", "周建华")
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
    """What the seed created, in the shape API.md documents for ``demo seed --json``."""

    places: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    stations: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "places": self.places,
            "users": self.users,
            "stations": self.stations,
            "tasks": self.tasks,
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

        street = place(None, STREET, PlaceLevel.STREET)
        people: list[User] = [person(*ADMIN, Role.ADMIN, street, street)]
        for (community_name, grid_names), roster in zip(COMMUNITIES, PEOPLE, strict=True):
            community = place(street, community_name, PlaceLevel.COMMUNITY)
            grids = [place(community, name, PlaceLevel.GRID) for name in grid_names]
            for role, entries in roster.items():
                for index, (openid, name) in enumerate(entries):
                    home = grids[index % len(grids)]
                    # Staff serve the whole community; everyone else belongs to their grid.
                    scope = community if role is Role.STAFF else home
                    people.append(person(openid, name, role, scope, home))

        world.users = [
            {
                "id": user.id,
                "openid": user.openid,
                "name": user.name,
                "residence_place_id": user.residence_place_id,
                "roles": [
                    {"role": g.role, "scope_type": g.scope_type, "scope_id": g.scope_id}
                    for g in user.grants
                ],
            }
            for user in people
        ]
        uow.commit()
        return world
