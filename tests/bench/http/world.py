"""The people and tasks a scenario needs, written straight through the models.

A crowd is one street → community → grid, a staff member of the community, and
members of the grid, each signed up for ``tasks_per_member`` tasks there. The
participations come back in the order requests should be sent: task by task, so
one member's turns are a whole task's worth of requests apart (as approvals of a
day's work would be), and a member stays under the starter rules' daily caps.
Bulk inserts keep a 30,000-participation seed to a few seconds.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

import service.models  # noqa: F401 - every mapped table, so foreign keys resolve
from points.access import Role, ScopeType
from points.places import PlaceLevel
from service.auth.tokens import issue_access_token, new_family
from service.people.models import RoleGrant, User
from service.places.models import Place
from service.places.tree import add_place
from service.tasks.models import Participation, Task
from tests.integration.seeding import SITE


@dataclass(frozen=True)
class Turn:
    """One participation to act on, and whose it is."""

    participation_id: int
    user_id: int


@dataclass(frozen=True)
class Crowd:
    street: Place
    community: Place
    staff_id: int
    task_ids: list[int]
    turns: list[Turn]


def bearer(secret_key: str, user_id: int, now: datetime) -> dict[str, str]:
    """The headers a signed-in client sends, with a token as sign-in issues it."""
    token = issue_access_token(
        secret_key, user_id=user_id, token_version=0, family=new_family(), now=now
    )
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def people(session: Session, count: int, home: Place, role: Role, scope: Place) -> list[int]:
    """``count`` people living in ``home``, each granted ``role`` on ``scope``."""
    tag = uuid.uuid4().hex[:8]
    rows = [
        {"openid": f"bench-{tag}-{n}", "name": f"志愿者{n}", "residence_place_id": home.id}
        for n in range(count)
    ]
    ids = list(session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), rows))
    grants = [
        {
            "user_id": uid,
            "role": role.value,
            "scope_type": ScopeType.PLACE.value,
            "scope_id": scope.id,
        }
        for uid in ids
    ]
    session.execute(insert(RoleGrant), grants)
    return ids


def neighbourhood(session: Session) -> tuple[Place, Place, Place]:
    """A fresh street → community → grid."""
    tag = uuid.uuid4().hex[:6]
    street = add_place(session, None, f"压测街道{tag}", PlaceLevel.STREET)
    community = add_place(session, street, "压测社区", PlaceLevel.COMMUNITY)
    grid = add_place(session, community, "压测网格", PlaceLevel.GRID)
    return street, community, grid


def build_crowd(
    session: Session,
    *,
    participations: int,
    tasks_per_member: int,
    task: dict[str, Any],
    participation: dict[str, Any],
) -> Crowd:
    """``participations`` participations over ``tasks_per_member`` tasks; ``task`` and
    ``participation`` give the columns that make them the scenario's (times, state)."""
    street, community, grid = neighbourhood(session)
    (staff_id,) = people(session, 1, community, Role.STAFF, community)
    members = people(session, math.ceil(participations / tasks_per_member), grid, Role.MEMBER, grid)
    task_rows = [
        {
            "place_id": community.id,
            "title": f"压测任务{n + 1}",
            "lat": SITE[0],
            "lng": SITE[1],
            "radius_m": 300,
            "capacity": len(members),
            "signed_up_count": min(len(members), participations - n * len(members)),
            "audience": "everyone",
            "created_by_id": staff_id,
            **task,
        }
        for n in range(tasks_per_member)
    ]
    task_ids = list(
        session.scalars(insert(Task).returning(Task.id, sort_by_parameter_order=True), task_rows)
    )
    pairs = [(t, m) for t in task_ids for m in members][:participations]
    rows = [
        {"task_id": t, "user_id": m, "role": Role.MEMBER.value, **participation} for t, m in pairs
    ]
    ids = session.scalars(
        insert(Participation).returning(Participation.id, sort_by_parameter_order=True), rows
    )
    turns = [Turn(pid, m) for pid, (_, m) in zip(ids, pairs, strict=True)]
    session.flush()
    return Crowd(street, community, staff_id, task_ids, turns)
