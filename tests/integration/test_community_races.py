"""Real concurrency, on both backends: one visit confirmed, one demand accepted, twenty
times at once, credit once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from api import extensions
from points.access import Role, ScopeType
from points.errors import DomainError
from points.households import visit_day
from points.places import PlaceLevel
from points.rules import starter_rule_set
from service.access import load_actor
from service.db import utcnow
from service.demands.loop import accept_demand
from service.demands.models import Demand
from service.households.models import Household, HouseholdVisit
from service.households.visits import confirm_visit
from service.ledger.models import Transfer
from service.ledger.verify import verify
from service.people.directory import ensure_grant
from service.people.models import User
from service.places.tree import add_place
from service.rules.models import RuleSetVersion
from service.unit_of_work import UnitOfWork
from tests.conftest import AppFactory
from tests.integration.test_ledger_concurrency import race


@pytest.fixture
def racing_app(make_app: AppFactory) -> Flask:
    return make_app(db_pool_size=30)


def community(app: Flask) -> dict[str, int]:
    with app.app_context():
        session = extensions.session()
        street = add_place(session, None, "街道", PlaceLevel.STREET)
        town = add_place(session, street, "社区", PlaceLevel.COMMUNITY)
        grid = add_place(session, town, "网格", PlaceLevel.GRID)
        staff, member = User(name="王芳"), User(name="李建国", residence_place_id=grid.id)
        session.add_all([staff, member])
        session.flush()
        ensure_grant(session, staff, Role.STAFF, ScopeType.PLACE, town.id)
        ensure_grant(session, member, Role.MEMBER, ScopeType.PLACE, grid.id)
        household = Household(place_id=grid.id, label="1栋101")
        session.add_all(
            [
                household,
                RuleSetVersion(
                    place_id=street.id,
                    version=1,
                    status="published",
                    effective_from=date(2026, 1, 1),
                    content=starter_rule_set(),
                ),
            ]
        )
        session.flush()
        visited = utcnow() - timedelta(minutes=5)
        visit = HouseholdVisit(
            household_id=household.id,
            visitor_id=member.id,
            role="member",
            visited_at=visited,
            visit_day=visit_day(visited),
        )
        demand = Demand(
            place_id=grid.id,
            category="safety",
            description="井盖松动",
            reporter_id=member.id,
            reporter_role="member",
        )
        session.add_all([visit, demand])
        session.commit()
        return {"staff": staff.id, "member": member.id, "visit": visit.id, "demand": demand.id}


def credited(app: Flask, source: str) -> int:
    with app.app_context():
        count: int = extensions.session().scalar(
            select(func.count()).select_from(Transfer).where(Transfer.source == source)
        )
        return count


def test_one_visit_confirmed_twenty_times_at_once_credits_once(racing_app: Flask) -> None:
    ids = community(racing_app)
    results = race(
        racing_app,
        20,
        lambda session: confirm_visit(
            UnitOfWork(session),  # type: ignore[arg-type]
            load_actor(session, ids["staff"]),  # type: ignore[arg-type]
            ids["visit"],
            utcnow(),
        ),
    )
    confirmed = [r for r in results if not isinstance(r, DomainError)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(confirmed) == 1
    assert {error.code for error in refused} <= {"invalid_transition", "visit_changed"}
    assert len(refused) == 19
    assert credited(racing_app, f"household_visit:{ids['visit']}") == 2  # 积分 and 幸福币
    with racing_app.app_context():
        assert verify(extensions.session()).clean


def test_one_demand_accepted_twenty_times_at_once_credits_once(racing_app: Flask) -> None:
    ids = community(racing_app)
    results = race(
        racing_app,
        20,
        lambda session: accept_demand(
            UnitOfWork(session),  # type: ignore[arg-type]
            load_actor(session, ids["staff"]),  # type: ignore[arg-type]
            ids["demand"],
            utcnow(),
        ),
    )
    assert sum(not isinstance(r, DomainError) for r in results) == 1
    assert {r.code for r in results if isinstance(r, DomainError)} <= {
        "invalid_transition",
        "demand_changed",
    }
    assert credited(racing_app, f"demand:{ids['demand']}") == 2
    with racing_app.app_context():
        assert verify(extensions.session()).clean
