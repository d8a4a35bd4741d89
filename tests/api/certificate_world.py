"""A community for the certificate tests: 张三丰 (with a phone) in 幸福社区 and his
work there and in 和谐社区, approved, submitted, rejected and reversed, across 2025 and
2026; 李四's approved work beside it; staff of each community. Tasks are on fixed past
days: records are dated by their task, not by today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

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


@dataclass
class Community:
    ids: dict[str, int]
    tokens: dict[str, str]

    def call(
        self, client: FlaskClient, who: str | None, method: str, path: str, body: Any = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return client.open(f"/api/v1{path}", method=method, json=body, headers=headers)


def beijing(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TIME)


# (name, community, day, hours, status): 张三丰's work, and one of 李四's.
WORK = [
    ("敲门行动", "A", date(2025, 3, 10), "3.00", "approved"),
    ("送菜上门", "A", date(2025, 11, 20), "2.50", "approved"),
    ("反诈宣传", "A", date(2026, 2, 14), "1.75", "approved"),
    ("河道清洁", "B", date(2026, 5, 1), "4.00", "approved"),
    ("夜间巡逻", "A", date(2026, 3, 1), "2.00", "submitted"),
    ("楼道清理", "A", date(2026, 4, 1), "1.00", "rejected"),
    ("旧物回收", "A", date(2026, 4, 2), "1.00", "reversed"),
]


def build(app: Flask) -> Community:
    ids: dict[str, int] = {}
    with app.app_context():
        session = extensions.session()
        street = add_place(session, None, "连心街道", PlaceLevel.STREET)
        places = {}
        for side, name in (("A", "幸福社区"), ("B", "和谐社区")):
            community = add_place(session, street, name, PlaceLevel.COMMUNITY)
            places[side] = community
            places[f"grid_{side}"] = add_place(session, community, f"{name}一网格", PlaceLevel.GRID)
        sealed = extensions.phone_vault().seal("13812345678")
        people = {
            "member": User(
                name="张三丰",
                residence_place_id=places["grid_A"].id,
                phone_ciphertext=sealed.ciphertext,
                phone_hash=sealed.lookup_hash,
                phone_masked=sealed.masked,
            ),
            "other": User(name="李四", residence_place_id=places["grid_A"].id),
            "staff_A": User(name="王芳"),
            "staff_B": User(name="赵敏"),
        }
        session.add_all(people.values())
        session.flush()
        for who in ("member", "other"):
            ensure_grant(session, people[who], Role.MEMBER, ScopeType.PLACE, places["grid_A"].id)
        for side in ("A", "B"):
            ensure_grant(
                session, people[f"staff_{side}"], Role.STAFF, ScopeType.PLACE, places[side].id
            )
        session.add(
            RuleSetVersion(
                place_id=street.id,
                version=1,
                status="published",
                effective_from=date(2025, 1, 1),
                content=starter_rule_set(),
            )
        )
        rows = [(*w, "member") for w in WORK] + [
            ("帮扶走访", "A", date(2025, 6, 1), "9.00", "approved", "other")
        ]
        for title, side, day, hours, status, who in rows:
            task = Task(
                place_id=places[side].id,
                title=title,
                category="service",
                type="door_knock",
                address=f"{places[side].name}活动室",
                lat=39.9163,
                lng=116.4039,
                radius_m=300,
                starts_at=beijing(day, 9),
                ends_at=beijing(day, 13),
                capacity=5,
                audience="everyone",
                checkin_mode="both",
                work_unit="hours",
                status="published",
                created_by_id=people["staff_A"].id,
            )
            session.add(task)
            session.flush()
            participation = Participation(
                task_id=task.id,
                user_id=people[who].id,
                role="member",
                status=status,
                hours=Decimal(hours),
                submitted_at=beijing(day, 14),
            )
            session.add(participation)
            session.flush()
            ids[f"{title}"] = participation.id
        session.commit()
        ids.update({who: user.id for who, user in people.items()})
        ids.update({"street": street.id, "A": places["A"].id, "B": places["B"].id})
        secret = extensions.settings().secret_key
        tokens = {
            who: issue_access_token(
                secret, user_id=user.id, token_version=0, family=f"f-{who}", now=utcnow()
            )
            for who, user in people.items()
        }
    return Community(ids, tokens)
