"""Visits and demands in the demo world: the starter rules price both, and the
ledger stays balanced."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from service.access import load_actor
from service.db import utcnow
from service.demands.loop import accept_demand
from service.demo.world import seed_demo_world
from service.households.visits import NewVisit, confirm_visit, record_visit
from service.ledger.verify import verify
from service.people.models import User
from service.unit_of_work import UnitOfWork
from service.wechat.security import FakeContentSecurity


def user(uow: UnitOfWork, openid: str) -> int:
    return uow.session.scalars(select(User.id).where(User.openid == openid)).one()


def test_the_demo_worlds_demand_and_visits_earn_by_the_starter_rules(uow: UnitOfWork) -> None:
    world = seed_demo_world(uow)
    session = uow.session
    staff = load_actor(session, user(uow, "demo-staff-1"))
    member = load_actor(session, user(uow, "demo-member-1"))
    now = utcnow()

    demand = next(d for d in world.demands if d["reporter_openid"] == "demo-resident-1")
    accepted = accept_demand(uow, staff, demand["id"], now)
    assert accepted.demand.status == "accepted"
    assert {t.currency: t.amount for t in accepted.transfers} == {"jifen": 3, "xingfubi": 2}

    home = session.get(User, member.user_id)
    assert home is not None
    household = next(h for h in world.households if h["org_id"] == home.residence_place_id)
    visit = record_visit(
        uow,
        member,
        NewVisit(household["id"], now - timedelta(hours=1), "送去米面油"),
        now,
        checks=FakeContentSecurity("违规", "复核", "7x7"),
    )
    confirmed = confirm_visit(uow, staff, visit.id, now)
    assert confirmed.visit.status == "confirmed"
    assert {t.currency: t.amount for t in confirmed.transfers} == {"jifen": 2, "xingfubi": 1}
    assert {t.source for t in confirmed.transfers} == {f"household_visit:{visit.id}"}
    assert verify(session).clean
