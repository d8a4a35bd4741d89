"""The scenarios: what each seeds, the requests it sends, and its bare baseline.

Adding one is declarative: write a ``seed`` that builds its data and returns the
requests (one per object acted on, never repeated) with a ``done`` query naming
the objects the database shows as acted on, point ``baseline`` at a route of
baseline.py with a body builder, and add it to SCENARIOS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from points.rules import Category, TaskType, WorkUnit
from points.tasks import CheckinMode, ParticipationStatus, TaskStatus
from service.ledger.models import Transfer
from service.ledger.verify import verify
from service.tasks.models import Participation
from tests.bench.http.baseline import BASELINE_ACCOUNTS
from tests.bench.http.load import Request
from tests.bench.http.world import SITE, bearer, build_crowd, publish_starter_rules


@dataclass(frozen=True)
class SeedContext:
    secret_key: str  # the app's LIANXIN_SECRET_KEY, to issue tokens the server accepts
    count: int  # how many requests (objects to act on) to prepare
    now: datetime


def _nothing_more(session: Session) -> list[str]:
    return []


@dataclass(frozen=True)
class Seeded:
    requests: list[Request]
    # The request keys whose effect the database shows (e.g. participations checked in).
    done: Callable[[Session], set[str]]
    # Invariants to hold after the run; each problem found is one line.
    verify: Callable[[Session], list[str]] = _nothing_more


@dataclass(frozen=True)
class Baseline:
    """A route of baseline.py, ``POST /baseline/<route>/<key>``; each request leaves one
    row keyed by ``key`` in ``table``."""

    route: str
    table: str
    body: Callable[[int], dict[str, Any]]

    def requests(self, count: int) -> list[Request]:
        # A header as long as a real bearer token, so both sides parse alike.
        headers = {"Authorization": "Bearer " + "x" * 300, "Content-Type": "application/json"}
        return [
            Request(
                "POST", f"/baseline/{self.route}/b{n}", headers, json.dumps(self.body(n)), f"b{n}"
            )
            for n in range(count)
        ]

    def done(self, session: Session) -> set[str]:
        return set(session.scalars(text(f"SELECT request_key FROM {self.table}")))  # noqa: S608


@dataclass(frozen=True)
class Scenario:
    name: str
    endpoint: str
    seed: Callable[[Session, SeedContext], Seeded]
    baseline: Baseline
    target: float  # the least acceptable ratio of the app's rate to the baseline's
    issue: str = field(default="")


def _keys(ids: Any) -> set[str]:
    return {f"p{pid}" for pid in ids}


def _done_in(status: ParticipationStatus, task_ids: list[int]) -> Callable[[Session], set[str]]:
    def done(session: Session) -> set[str]:
        return _keys(
            session.scalars(
                select(Participation.id).where(
                    Participation.task_id.in_(task_ids), Participation.status == status.value
                )
            )
        )

    return done


# 巡逻 is priced per hour: the starter rules give 15 积分 + 9 幸福币 for two hours.
_PATROL = {
    "type": TaskType.PATROL.value,
    "category": Category.SAFETY.value,
    "work_unit": WorkUnit.HOURS.value,
    "status": TaskStatus.PUBLISHED.value,
}


def seed_checkin(session: Session, context: SeedContext) -> Seeded:
    """Members signed up for geofence tasks that are on now; each checks in once, from
    a step inside the fence, with their own token."""
    now = context.now
    crowd = build_crowd(
        session,
        participations=context.count,
        tasks_per_member=4,
        task={
            **_PATROL,
            "checkin_mode": CheckinMode.GEOFENCE.value,
            "starts_at": now - timedelta(minutes=10),
            "ends_at": now + timedelta(hours=3),
        },
        participation={"status": ParticipationStatus.SIGNED_UP.value, "signed_up_at": now},
    )
    tokens: dict[int, dict[str, str]] = {}
    body = json.dumps({"lat": SITE[0] + 0.0002, "lng": SITE[1] + 0.0002, "accuracy": 15.0})
    requests = [
        Request(
            "POST",
            f"/api/v1/participations/{turn.participation_id}/checkin",
            tokens.setdefault(turn.user_id, bearer(context.secret_key, turn.user_id, now)),
            body,
            f"p{turn.participation_id}",
        )
        for turn in crowd.turns
    ]
    return Seeded(requests, _done_in(ParticipationStatus.CHECKED_IN, crowd.task_ids))


def seed_approve(session: Session, context: SeedContext) -> Seeded:
    """Yesterday's two-hour patrols, handed in and waiting; the community's staff member
    approves each once, and the starter rules (published on the street) credit both
    currencies. Four tasks per member keep each under the daily caps."""
    now = context.now
    yesterday = now - timedelta(days=1)
    crowd = build_crowd(
        session,
        participations=context.count,
        tasks_per_member=4,
        task={
            **_PATROL,
            "checkin_mode": CheckinMode.GEOFENCE.value,
            "starts_at": yesterday,
            "ends_at": yesterday + timedelta(hours=2),
        },
        participation={
            "status": ParticipationStatus.SUBMITTED.value,
            "signed_up_at": yesterday - timedelta(days=1),
            "checked_in_at": yesterday,
            "checked_out_at": yesterday + timedelta(hours=2),
            "hours": 2,
            "units": 0,
            "note": "巡逻两小时，无异常",
            "submitted_at": yesterday + timedelta(hours=2, minutes=5),
        },
    )
    publish_starter_rules(session, crowd.street, (now - timedelta(days=30)).date())
    headers = bearer(context.secret_key, crowd.staff_id, now)
    requests = [
        Request(
            "POST",
            f"/api/v1/participations/{turn.participation_id}/approve",
            headers,
            "",
            f"p{turn.participation_id}",
        )
        for turn in crowd.turns
    ]
    approved = _done_in(ParticipationStatus.APPROVED, crowd.task_ids)

    def ledger_clean(session: Session) -> list[str]:
        report = verify(session)
        problems = [f"ledger verify: {line}" for line in report.problems]
        session.rollback()
        credited = approved(session)
        transfers = session.scalar(
            select(func.count()).where(
                Transfer.source.in_([f"participation:{key[1:]}" for key in credited])
            )
        )
        if transfers != 2 * len(credited):
            problems.append(
                f"{len(credited)} approvals posted {transfers} transfers, not 2 each "
                "(积分 and 幸福币): is a rule set in force, or did a cap bite?"
            )
        return problems

    return Seeded(requests, approved, ledger_clean)


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            name="checkin",
            endpoint="POST /api/v1/participations/{id}/checkin",
            seed=seed_checkin,
            baseline=Baseline(
                "checkin",
                "bench_checkin",
                lambda n: {"lat": SITE[0] + 0.0002, "lng": SITE[1] + 0.0002, "accuracy": 15.0},
            ),
            target=0.75,
            issue="tasks: check-in throughput vs one INSERT",
        ),
        Scenario(
            name="approve",
            endpoint="POST /api/v1/participations/{id}/approve",
            seed=seed_approve,
            baseline=Baseline(
                "approve",
                "bench_transfer",
                lambda n: {"account_id": n % BASELINE_ACCOUNTS, "amount": 15},
            ),
            target=0.75,
            issue="ledger: approve → credit vs INSERT + UPDATE + ZINCRBY",
        ),
    )
}
