"""The overdue sweep over more demands than one statement may carry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from points.places import PlaceLevel
from service.db import utcnow
from service.demands.models import DEMAND_TABLE, DemandEvent, DemandOverdue
from service.demands.overdue import sweep_overdue
from service.people.models import User
from service.places.tree import add_place
from service.unit_of_work import UnitOfWork


def test_a_street_with_thousands_overdue_is_swept_in_one_run_and_once(uow: UnitOfWork) -> None:
    session = uow.session
    grid = add_place(session, None, "网格", PlaceLevel.GRID)
    reporter = User(name="居民", residence_place_id=grid.id)
    session.add(reporter)
    session.flush()
    now = utcnow()
    session.execute(
        insert(DEMAND_TABLE),
        [
            {
                "place_id": grid.id,
                "category": "facility",
                "description": f"第{n}件",
                "address": "",
                "upload_ids": [],
                "resolution_upload_ids": [],
                "reporter_id": reporter.id,
                "reporter_role": "resident",
                "status": "submitted",
                "accept_due_at": now - timedelta(hours=n % 48 + 1),
                "due_at": now - timedelta(hours=n % 48 + 1),
                "due_stage": "accept",
                "created_at": now - timedelta(days=3),
                "updated_at": now - timedelta(days=3),
                "version": 0,
            }
            for n in range(1_234)
        ],
    )
    session.commit()
    first = sweep_overdue(uow, now)
    assert (first.marked, first.overdue) == (1_234, 1_234)
    second = sweep_overdue(uow, now + timedelta(minutes=15))
    assert (second.marked, second.overdue) == (0, 1_234)
    assert session.scalar(select(func.count()).select_from(DemandOverdue)) == 1_234
    overdue_notes = select(func.count()).select_from(DemandEvent)
    assert session.scalar(overdue_notes.where(DemandEvent.action == "overdue")) == 1_234
