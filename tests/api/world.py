"""The world the API tests play in: a street with communities A and B, each with a
grid, a person (with a phone), a branch, a pairing, a draft rule set, a pending
adjustment and an earning, a household in the grid with the person's visit to it
awaiting confirmation, the person's demand in the grid, and a 志愿服务证明 the
community issued them; one user per role, all in community A, and an admin of the whole
street ("root"), each with an access token."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

import jwt
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api import extensions
from points.access import Role, ScopeType
from points.calendar import local_date
from points.households import visit_day
from points.places import PlaceLevel
from points.redemption import derive_qr_key
from points.rules import starter_rule_set
from service.access import load_actor
from service.auth.tokens import issue_access_token
from service.certificates.models import Certificate, CertificateService
from service.db import utcnow
from service.demands.models import Demand
from service.households.models import Household, HouseholdVisit
from service.ledger.models import Adjustment
from service.moderation.models import ContentReview
from service.organisation.models import Branch, Department, Pairing, Station
from service.people.directory import ensure_grant
from service.people.models import RoleGrant, User
from service.places.tree import add_place
from service.rules.models import RuleSetVersion
from service.stations.models import CatalogueItem
from service.stations.redemption import RedemptionPolicy, hold_redemption
from service.tasks.models import Participation, Task, TaskSeries
from tests.ledger_helpers import credit


def certificate_number(side: str) -> str:
    """The number of the certificate issued to the person of a side."""
    return f"LX2026-TEST-0000-000{side}"


ROLES = ["member", "volunteer", "resident", "staff", "clerk", "dept_officer", "admin", "root"]
SIDES = ["A", "B"]


@dataclass
class World:
    ids: dict[str, int]
    tokens: dict[str, str]
    codes: dict[str, str] = field(default_factory=dict)  # pickup codes of open holds

    def side(self, side: str, name: str) -> int:
        return self.ids[f"{name}_{side}"]

    def refresh_token(self, app: Flask, role: str) -> None:
        """A new access token for ``role``'s user, after a role change ended the old one."""
        with app.app_context():
            session = extensions.session()
            user_id = int(jwt.decode(self.tokens[role], options={"verify_signature": False})["sub"])
            user = session.get(User, user_id)
            assert user is not None
            self.tokens[role] = issue_access_token(
                extensions.settings().secret_key,
                user_id=user_id,
                token_version=user.token_version,
                family=f"fam-{role}",
                now=utcnow(),
            )

    def call(
        self,
        client: FlaskClient,
        role: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
    ) -> TestResponse:
        """Call /api/v1{path} as the user holding ``role``."""
        return client.open(
            f"/api/v1{path}",
            method=method,
            json=body,
            headers={"Authorization": f"Bearer {self.tokens[role]}"},
        )


def build_world(app: Flask) -> World:
    ids: dict[str, int] = {}
    with app.app_context():
        session = extensions.session()
        street = add_place(session, None, "街道", PlaceLevel.STREET)
        ids["street"] = street.id
        department = Department(name="区民政局")
        session.add(department)
        session.flush()
        ids["department"] = department.id
        for side in SIDES:
            community = add_place(session, street, f"社区{side}", PlaceLevel.COMMUNITY)
            grid = add_place(session, community, f"网格{side}", PlaceLevel.GRID)
            sealed = extensions.phone_vault().seal(f"1390000000{SIDES.index(side)}")
            person = User(
                name=f"居民{side}",
                residence_place_id=grid.id,
                phone_ciphertext=sealed.ciphertext,
                phone_hash=sealed.lookup_hash,
                phone_masked=sealed.masked,
            )
            session.add(person)
            session.flush()
            grant = ensure_grant(session, person, Role.MEMBER, ScopeType.PLACE, grid.id)
            branch = Branch(name=f"支部{side}", place_id=community.id)
            pairing = Pairing(
                department_id=department.id, place_id=community.id, started_on=date(2026, 1, 1)
            )
            rules = RuleSetVersion(
                place_id=community.id,
                version=1,
                effective_from=date(2026, 1, 1),
                content=starter_rule_set(),
                status="draft",
            )
            session.add_all([branch, pairing, rules])
            session.flush()
            ids.update(
                {
                    f"community_{side}": community.id,
                    f"grid_{side}": grid.id,
                    f"person_{side}": person.id,
                    f"grant_{side}": grant.id,
                    f"branch_{side}": branch.id,
                    f"pairing_{side}": pairing.id,
                    f"rules_{side}": rules.id,
                }
            )
        for side, other in (("A", "B"), ("B", "A")):
            person = ids[f"person_{side}"]
            pending = Adjustment(
                user_id=person,
                kind="award",
                currency="jifen",
                amount=500,
                reason="抗洪抢险",
                status="pending_confirmation",
                requested_by_id=ids[f"person_{other}"],
            )
            session.add(pending)
            session.flush()
            ids[f"adjustment_{side}"] = pending.id
            ids[f"earning_{side}"] = credit(session, person, "jifen", 20).id
            for status in ("draft", "published"):
                task = Task(
                    **demo_task(ids[f"community_{side}"]), status=status, created_by_id=person
                )
                session.add(task)
                session.flush()
                ids[f"{status}_task_{side}"] = task.id
            series = TaskSeries(**demo_series(ids[f"community_{side}"]), created_by_id=person)
            session.add(series)
            session.flush()
            ids[f"series_{side}"] = series.id
            signed = Participation(
                task_id=ids[f"published_task_{side}"],
                user_id=person,
                role="member",
                status="submitted",
                units=3,
                submitted_at=utcnow(),
            )
            session.add(signed)
            session.flush()
            ids[f"participation_{side}"] = signed.id
            household = Household(
                place_id=ids[f"grid_{side}"], label="3栋2单元401", needs="独居老人"
            )
            session.add(household)
            session.flush()
            visit = HouseholdVisit(
                household_id=household.id,
                visitor_id=person,
                role="member",
                visited_at=utcnow(),
                visit_day=visit_day(utcnow()),
            )
            demand = Demand(
                place_id=ids[f"grid_{side}"],
                category="environment",
                description="楼道堆放杂物",
                reporter_id=person,
                reporter_role="member",
            )
            certificate = Certificate(
                number=certificate_number(side),
                user_id=person,
                first_day=date(2026, 1, 1),
                last_day=date(2026, 3, 31),
                issued_at=utcnow(),
                issued_on=date(2026, 4, 1),
                issuer_place_id=ids[f"community_{side}"],
                issuer_name=f"社区{side}",
                holder_name=f"居民{side}",
                holder_contact="139****0000",
                service_count=1,
                total_hours=Decimal("2.00"),
            )
            session.add_all([visit, demand, certificate])
            session.flush()
            session.add(
                CertificateService(
                    certificate_id=certificate.id,
                    participation_id=ids[f"participation_{side}"],
                    position=1,
                    served_on=date(2026, 2, 1),
                    title="敲门行动",
                    category="service",
                    organisation=f"社区{side}",
                    place="活动室",
                    hours=Decimal("2.00"),
                )
            )
            session.flush()
            # The demand's description waits for staff (内容安全: WeChat said review).
            review = ContentReview(
                subject="demand",
                subject_id=demand.id,
                field="description",
                author_id=person,
                place_id=ids[f"grid_{side}"],
                status="held",
                reason="world",
                created_at=utcnow(),
            )
            session.add(review)
            session.flush()
            ids[f"review_{side}"] = review.id
            ids.update(
                {
                    f"household_{side}": household.id,
                    f"visit_{side}": visit.id,
                    f"demand_{side}": demand.id,
                }
            )
        codes = {}
        for side, (lat, lng) in zip(SIDES, ((39.9163, 116.4039), (39.9288, 116.4172)), strict=True):
            station = Station(
                place_id=ids[f"community_{side}"], name=f"小蜜蜂驿站{side}", lat=lat, lng=lng
            )
            session.add(station)
            session.flush()
            item = CatalogueItem(
                station_id=station.id, name="洗衣液", price=5, currency="xingfubi", stock=10
            )
            session.add(item)
            session.flush()
            # Each side has a shopper with one redemption waiting for pickup there.
            shopper = User(name=f"顾客{side}", residence_place_id=ids[f"grid_{side}"])
            session.add(shopper)
            session.flush()
            ensure_grant(session, shopper, Role.RESIDENT, ScopeType.PLACE, ids[f"grid_{side}"])
            credit(session, shopper.id, "xingfubi", 30)
            held = hold_redemption(
                session,
                load_actor(session, shopper.id),
                item.id,
                1,
                utcnow(),
                RedemptionPolicy(3, 5, derive_qr_key(extensions.settings().secret_key)),
            )
            session.commit()
            ids.update(
                {
                    f"station_{side}": station.id,
                    f"item_{side}": item.id,
                    f"redemption_{side}": held.redemption.id,
                    f"shopper_{side}": shopper.id,
                }
            )
            codes[side] = held.redemption.pickup_code
        scopes = {
            "member": (ScopeType.PLACE, ids["grid_A"]),
            "volunteer": (ScopeType.PLACE, ids["grid_A"]),
            "resident": (ScopeType.PLACE, ids["grid_A"]),
            "staff": (ScopeType.PLACE, ids["community_A"]),
            "clerk": (ScopeType.STATION, ids["station_A"]),
            "dept_officer": (ScopeType.DEPARTMENT, department.id),
            "admin": (ScopeType.PLACE, ids["community_A"]),
            "root": (ScopeType.PLACE, street.id),
        }
        tokens = {}
        secret = extensions.settings().secret_key
        for role, (scope_type, scope_id) in scopes.items():
            user = User(name=role, residence_place_id=ids["grid_A"])
            session.add(user)
            session.flush()
            session.add(
                RoleGrant(
                    user_id=user.id,
                    role="admin" if role == "root" else role,
                    scope_type=scope_type.value,
                    scope_id=scope_id,
                )
            )
            tokens[role] = issue_access_token(
                secret, user_id=user.id, token_version=0, family=f"fam-{role}", now=utcnow()
            )
        session.commit()
    return World(ids, tokens, codes)


def demo_task(place_id: int, **changes: Any) -> dict[str, Any]:
    """A door-knocking task next week, as a model's fields."""
    starts = utcnow() + timedelta(days=7)
    fields: dict[str, Any] = {
        "place_id": place_id,
        "title": "敲门行动",
        "category": "service",
        "type": "door_knock",
        "lat": 39.9163,
        "lng": 116.4039,
        "radius_m": 300,
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=3),
        "capacity": 5,
        "audience": "everyone",
        "checkin_mode": "both",
        "work_unit": "households",
    }
    fields.update(changes)
    return fields


def demo_series(place_id: int) -> dict[str, object]:
    """A weekly patrol (周期任务) from next week, as a model's fields; none posted yet."""
    first = local_date(utcnow()) + timedelta(days=7)
    return {
        "place_id": place_id,
        "title": "夜间安全巡逻",
        "category": "safety",
        "type": "patrol",
        "lat": 39.9163,
        "lng": 116.4039,
        "radius_m": 500,
        "capacity": 5,
        "audience": "everyone",
        "checkin_mode": "both",
        "work_unit": "hours",
        "frequency": "weekly",
        "weekdays": [first.weekday()],
        "first_date": first,
        "start_time": time(19, 0),
        "duration_minutes": 120,
    }
