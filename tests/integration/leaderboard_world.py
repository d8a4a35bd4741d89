"""A small world for leaderboard tests: a street with two communities and their grids,
a department with a party branch, and members earning through the real posting code."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from sqlalchemy import func, select

from api import extensions
from points.ledger import TransferKind
from points.places import PlaceLevel
from service.ledger.accounts import issuance_key, member_account, system_account
from service.ledger.models import EarningEvent
from service.ledger.posting import TransferRequest, post
from service.organisation.models import Branch, Department
from service.people.models import User
from service.places.tree import add_place


@dataclass
class Town:
    street: int
    communities: list[int]
    grids: list[int]  # grids[0], grids[1] in community 0; grids[2] in community 1
    department: int
    branch: int
    people: list[int]


def build_town(app: Flask, people: int = 8) -> Town:
    with app.app_context():
        session = extensions.session()
        street = add_place(session, None, "街道", PlaceLevel.STREET)
        one = add_place(session, street, "社区一", PlaceLevel.COMMUNITY)
        two = add_place(session, street, "社区二", PlaceLevel.COMMUNITY)
        grids = [
            add_place(session, one, "网格1", PlaceLevel.GRID),
            add_place(session, one, "网格2", PlaceLevel.GRID),
            add_place(session, two, "网格3", PlaceLevel.GRID),
        ]
        department = Department(name="区民政局")
        session.add(department)
        session.flush()
        branch = Branch(name="机关支部", department_id=department.id)
        session.add(branch)
        session.flush()
        ids = []
        for n in range(people):
            user = User(
                name=f"党员{n}",
                residence_place_id=grids[n % 3].id,
                home_branch_id=branch.id if n % 2 == 0 else None,
            )
            session.add(user)
            session.flush()
            ids.append(user.id)
        session.commit()
        return Town(
            street.id, [one.id, two.id], [g.id for g in grids], department.id, branch.id, ids
        )


def earn(
    app: Flask,
    user_id: int,
    amount: int,
    *,
    currency: str = "jifen",
    kind: TransferKind = TransferKind.EARN,
    at: datetime | None = None,
) -> int:
    """One earning through a unit of work, so its after-commit step feeds the boards."""
    with app.app_context():
        uow = extensions.unit_of_work()
        with uow:
            session = uow.session
            transfer = post(
                session,
                TransferRequest(
                    idempotency_key=f"test:{uuid.uuid4().hex}",
                    kind=kind,
                    currency=currency,
                    debit_account_id=system_account(session, issuance_key(1), currency).id,
                    credit_account_id=member_account(session, user_id, currency).id,
                    amount=amount,
                    created_at=at,
                ),
            )
            uow.commit()
            return transfer.id


def unapplied(app: Flask) -> int:
    """Outbox events not yet marked applied to Redis."""
    with app.app_context():
        session = extensions.session()
        count = session.scalar(
            select(func.count()).select_from(EarningEvent).where(EarningEvent.applied_at.is_(None))
        )
        session.rollback()
        return int(count or 0)
