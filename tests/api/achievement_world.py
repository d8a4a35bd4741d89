"""Two communities for the achievement tests: 张三丰 (with a phone and an avatar) and his
neighbour 李四 in 幸福社区's grid, 王五 in 和谐社区's, staff of each community, and a
published rule set. Work is added on fixed past days: it counts by its task's day, and
no test leans on today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api import extensions
from points.access import Role, ScopeType
from points.calendar import LOCAL_TIME
from points.places import PlaceLevel
from points.rules import starter_rule_set
from service.auth.tokens import issue_access_token
from service.db import utcnow
from service.people.directory import ensure_grant
from service.people.models import User
from service.places.tree import add_place
from service.rules.models import RuleSetVersion
from service.tasks.models import Participation, Task

PHONE = "13812345678"


@dataclass
class Town:
    ids: dict[str, int]
    tokens: dict[str, str]

    def call(self, client: FlaskClient, who: str, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return client.open(f"/api/v1{path}", method=method, json=body, headers=headers)


def beijing(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TIME)


def token_for(user_id: int) -> str:
    """An access token for the user (inside an app context)."""
    return issue_access_token(
        extensions.settings().secret_key,
        user_id=user_id,
        token_version=0,
        family=f"f-{user_id}",
        now=utcnow(),
    )


def add_work(
    session: Session,
    user_id: int,
    place_id: int,
    staff_id: int,
    day: date,
    hours: str,
    *,
    kind: str = "patrol",
    status: str = "approved",
) -> int:
    """One participation of a task on a past local day, as it stands after its review."""
    task = Task(
        place_id=place_id,
        title=f"{kind} {day.isoformat()}",
        category="service",
        type=kind,
        address="社区活动室",
        lat=39.9163,
        lng=116.4039,
        radius_m=300,
        starts_at=beijing(day, 9),
        ends_at=beijing(day, 17),
        capacity=5,
        audience="everyone",
        checkin_mode="both",
        work_unit="hours",
        status="published",
        created_by_id=staff_id,
    )
    session.add(task)
    session.flush()
    participation = Participation(
        task_id=task.id,
        user_id=user_id,
        role="member",
        status=status,
        hours=Decimal(hours),
        checked_in_at=beijing(day, 9),
        checked_out_at=beijing(day, 17),
        submitted_at=beijing(day, 17),
    )
    session.add(participation)
    session.flush()
    return participation.id


def add_member(session: Session, name: str, grid_id: int) -> User:
    member = User(name=name, residence_place_id=grid_id)
    session.add(member)
    session.flush()
    ensure_grant(session, member, Role.MEMBER, ScopeType.PLACE, grid_id)
    return member


def build(app: Flask) -> Town:
    with app.app_context():
        session = extensions.session()
        street = add_place(session, None, "连心街道", PlaceLevel.STREET)
        ids: dict[str, int] = {"street": street.id}
        for side, name in (("A", "幸福社区"), ("B", "和谐社区")):
            community = add_place(session, street, name, PlaceLevel.COMMUNITY)
            grid = add_place(session, community, f"{name}一网格", PlaceLevel.GRID)
            ids[side], ids[f"grid_{side}"] = community.id, grid.id
        member = add_member(session, "张三丰", ids["grid_A"])
        sealed = extensions.phone_vault().seal(PHONE)
        member.phone_ciphertext, member.phone_hash = sealed.ciphertext, sealed.lookup_hash
        member.phone_masked = sealed.masked
        member.avatar_url = "https://example.com/avatar.png"
        people = {
            "member": member,
            "neighbour": add_member(session, "李四", ids["grid_A"]),
            "outsider": add_member(session, "王五", ids["grid_B"]),
            "staff_A": User(name="王芳"),
            "staff_B": User(name="赵敏"),
        }
        session.add_all([people["staff_A"], people["staff_B"]])
        session.flush()
        for side in ("A", "B"):
            ensure_grant(session, people[f"staff_{side}"], Role.STAFF, ScopeType.PLACE, ids[side])
        session.add(
            RuleSetVersion(
                place_id=street.id,
                version=1,
                status="published",
                effective_from=date(2024, 1, 1),
                content=starter_rule_set(),
            )
        )
        session.commit()
        ids.update({who: user.id for who, user in people.items()})
        tokens = {who: token_for(user.id) for who, user in people.items()}
    return Town(ids, tokens)
