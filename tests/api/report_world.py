"""A world small enough to count by hand, for the reports (述统亮评).

On top of tests/api/world.py (a street with communities A and B, a grid each, a
member in each grid, a branch for each community, a department paired with both), on
a clock stopped at 16 November 2026, in the fourth quarter:

- person_A lives in grid A and belongs to the department's own branch (机关支部):
  their work counts for community A and for the department (双报到); person_B lives
  in grid B, in community B's branch; a volunteer lives in grid A with no branch.
- The department's pairing with community B ended on 31 October.
- Tasks: T1 (grid A, 环境/cleanup, closed), T2 (community A, 服务/elder_delivery,
  residents helped, published), T3 (grid B, 平安/patrol, closed), T0 (grid A, closed,
  in the third quarter); and the world's published task of each community (next week).
- Approved work: person_A on T1 2.5 h (reached household_A) and on T3 1.5 h; the
  volunteer on T1 3 h (reached household_A2) and on T2 1 h helping 4 residents;
  person_B on T3 2 h; the volunteer's rejected T3 counts for nothing; person_A on T0
  4 h in the third quarter.
- person_A's visit to household_A confirmed (the household T1 reached: one household).
- Demands: the world's one in each grid (sent in now, open); D1 grid A, grid level,
  closed on time, rated 5; D2 community A, community level, closed after an overdue
  stage, rated 3, whistled to the department and 报到'd on time; D3 grid B, grid level,
  closed on time, rated 4; demand_B whistled on 10 November and never 报到'd.
- Points: the world's 20 积分 each to person_A and person_B and 30 幸福币 to each
  shopper; 15 积分 to the volunteer; 10 幸福币 awarded to person_A, of which 3 expire;
  shopper A's 5 幸福币 hold handed over.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select

from api import extensions
from points.access import Role, ScopeType
from points.ledger import TransferKind
from service.demands.models import Demand, DemandOverdue, DemandRating, DemandWhistle
from service.households.models import (
    Household,
    HouseholdResident,
    HouseholdVisit,
    ParticipationHousehold,
)
from service.ledger.accounts import EXPIRED_SINK, member_account, system_account
from service.ledger.holds import resolve_hold
from service.ledger.models import Transfer
from service.ledger.posting import TransferRequest, post
from service.organisation.models import Branch, Pairing
from service.people.directory import ensure_grant
from service.people.models import User
from service.tasks.models import Participation, ParticipationRating, Task
from tests.api.world import World, build_world, demo_task
from tests.ledger_helpers import credit

# Two in the morning of 16 November in Beijing: the fourth quarter of 2026.
NOW = datetime(2026, 11, 15, 18, 0, tzinfo=UTC)


def at(day: date, hour: int = 10) -> datetime:
    """A local hour of a day, as an aware UTC moment."""
    return datetime(day.year, day.month, day.day, hour - 8, tzinfo=UTC)


def build_report_world(app: Flask) -> World:
    world = build_world(app)
    ids = world.ids
    with app.app_context():
        session = extensions.session()
        office = Branch(name="机关支部", department_id=ids["department"])
        session.add(office)
        session.flush()
        ids["office_branch"] = office.id
        person_a = session.get(User, ids["person_A"])
        person_b = session.get(User, ids["person_B"])
        assert person_a is not None
        assert person_b is not None
        person_a.home_branch_id = office.id
        person_b.home_branch_id = ids["branch_B"]
        volunteer = User(name="志愿者小王", residence_place_id=ids["grid_A"])
        session.add(volunteer)
        session.flush()
        ensure_grant(session, volunteer, Role.VOLUNTEER, ScopeType.PLACE, ids["grid_A"])
        ids["helper"] = volunteer.id
        pairing_b = session.get(Pairing, ids["pairing_B"])
        assert pairing_b is not None
        pairing_b.ended_on = date(2026, 10, 31)
        staff = ids["person_B"]  # anyone may have created the rows below

        def task(place: str, day: date, **fields: Any) -> int:
            made = Task(
                **demo_task(ids[place], starts_at=at(day), ends_at=at(day, 13), **fields),
                created_by_id=staff,
            )
            session.add(made)
            session.flush()
            return made.id

        t0 = task("grid_A", date(2026, 8, 1), category="environment", type="cleanup",
                  status="closed", work_unit="hours")  # fmt: skip
        t1 = task("grid_A", date(2026, 10, 10), category="environment", type="cleanup",
                  status="closed", work_unit="hours")  # fmt: skip
        t2 = task("community_A", date(2026, 11, 1), category="service", type="elder_delivery",
                  status="published", work_unit="residents_helped")  # fmt: skip
        t3 = task("grid_B", date(2026, 10, 20), category="safety", type="patrol",
                  status="closed", work_unit="hours")  # fmt: skip
        ids.update(t0=t0, t1=t1, t2=t2, t3=t3)

        def work(user: int, task_id: int, role: str, hours: str, day: date, **more: Any) -> int:
            done = Participation(
                task_id=task_id,
                user_id=user,
                role=role,
                status=more.pop("status", "approved"),
                hours=Decimal(hours),
                decided_at=at(day, 18),
                decided_by_id=staff,
                **more,
            )
            session.add(done)
            session.flush()
            return done.id

        a, helper, b = ids["person_A"], volunteer.id, ids["person_B"]
        p1 = work(a, t1, "member", "2.5", date(2026, 10, 10))
        p2 = work(helper, t1, "volunteer", "3.0", date(2026, 10, 10))
        work(helper, t2, "volunteer", "1.0", date(2026, 11, 1), units=4)
        work(b, t3, "member", "2.0", date(2026, 10, 20))
        work(a, t3, "member", "1.5", date(2026, 10, 20))
        work(helper, t3, "volunteer", "2.0", date(2026, 10, 20), status="rejected")
        work(a, t0, "member", "4.0", date(2026, 8, 1))
        second = Household(place_id=ids["grid_A"], label="5栋1单元101")
        session.add(second)
        session.flush()
        ids["household_A2"] = second.id
        session.add_all(
            [
                ParticipationHousehold(participation_id=p1, household_id=ids["household_A"]),
                ParticipationHousehold(participation_id=p2, household_id=second.id),
            ]
        )
        # 群众来评判 of work: household A's resident rates person_A's part of T1.
        rater = User(name="住户A", residence_place_id=ids["grid_A"])
        session.add(rater)
        session.flush()
        session.add_all(
            [
                HouseholdResident(
                    household_id=ids["household_A"], user_id=rater.id, added_by_id=staff
                ),
                ParticipationRating(
                    participation_id=p1,
                    household_id=ids["household_A"],
                    rater_id=rater.id,
                    score=2,
                    created_at=at(date(2026, 10, 11)),
                    updated_at=at(date(2026, 10, 11)),
                ),
            ]
        )
        visit = session.get(HouseholdVisit, ids["visit_A"])
        assert visit is not None
        visit.status = "confirmed"

        def demand(place: str, level: str, closed: date, **more: Any) -> Demand:
            made = Demand(
                place_id=ids[place],
                category="environment",
                description="路灯坏了",
                reporter_id=ids["person_A"],
                reporter_role="member",
                status="closed",
                level=level,
                created_at=at(closed - timedelta(days=3)),
                resolved_at=at(closed - timedelta(days=1)),
                resolve_due_at=at(closed),
                closed_at=at(closed, 16),
                **more,
            )
            session.add(made)
            session.flush()
            return made

        d1 = demand("grid_A", "grid", date(2026, 10, 8))
        d2 = demand("community_A", "community", date(2026, 10, 12))
        d3 = demand("grid_B", "grid", date(2026, 10, 15))
        session.add(
            DemandOverdue(
                demand_id=d2.id,
                stage="accept",
                due_at=at(date(2026, 10, 9)),
                marked_at=at(date(2026, 10, 9), 12),
            )
        )
        for rated, score in ((d1, 5), (d2, 3), (d3, 4)):
            when = rated.closed_at
            assert when is not None
            session.add(
                DemandRating(
                    demand_id=rated.id, rater_id=a, score=score, created_at=when, updated_at=when
                )
            )
        session.add_all(
            [
                DemandWhistle(
                    demand_id=d2.id,
                    department_id=ids["department"],
                    whistled_by_id=staff,
                    whistled_at=at(date(2026, 10, 10)),
                    acknowledge_due_at=at(date(2026, 10, 11)),
                    acknowledged_at=at(date(2026, 10, 10), 15),
                    answer_due_at=at(date(2026, 10, 12)),
                    answered_at=at(date(2026, 10, 11)),
                    outcome="resolved",
                ),
                DemandWhistle(
                    demand_id=ids["demand_B"],
                    department_id=ids["department"],
                    whistled_by_id=staff,
                    whistled_at=at(date(2026, 11, 10)),
                    acknowledge_due_at=at(date(2026, 11, 11)),
                    answer_due_at=at(date(2026, 11, 13)),
                ),
            ]
        )
        session.commit()
        credit(session, helper, "jifen", 15)
        credit(session, a, "xingfubi", 10, kind=TransferKind.AWARD)
        post(
            session,
            TransferRequest(
                idempotency_key="test:expire:person_A",
                kind=TransferKind.EXPIRE,
                currency="xingfubi",
                debit_account_id=member_account(session, a, "xingfubi").id,
                credit_account_id=system_account(session, EXPIRED_SINK, "xingfubi").id,
                amount=3,
            ),
        )
        hold = session.scalars(
            select(Transfer.id).where(
                Transfer.kind == TransferKind.REDEEM_HOLD.value,
                Transfer.debit_account_id
                == member_account(session, ids["shopper_A"], "xingfubi").id,
            )
        ).one()
        resolve_hold(session, hold, hand_over=True, actor_id=staff, key="test:hand-over:A")
        session.commit()
    return world
