"""The scenarios: what each seeds, the requests it sends, and its baselines.

Adding one is declarative: write a ``seed`` that builds its data and returns the
requests (one per object acted on, never repeated) with a ``done`` query naming
the objects the database shows as acted on (None for reads, which leave nothing),
point ``baseline`` at a route of baseline.py (served by both the stack and the bare
psycopg app) with a body or query builder, and add it to SCENARIOS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from points.access import Role
from points.calendar import local_date
from points.leaderboard import Period, Scope, ScopeKind, period_label
from points.ledger import TransferKind
from points.notices import Topic
from points.redemption import RedemptionStatus
from points.rules import Category, TaskType, WorkUnit
from points.tasks import CheckinMode, ParticipationStatus, TaskStatus
from service.auth.models import RefreshToken
from service.auth.tokens import (
    REFRESH_TOKEN_LIFETIME,
    hash_refresh_token,
    new_family,
    new_refresh_token,
)
from service.leaderboards.boards import Board, Boards
from service.leaderboards.reading import MISSING_BOARDS
from service.leaderboards.writing import Snapshot, write_board
from service.ledger.accounts import issuance_key, member_account, system_account
from service.ledger.models import Transfer
from service.ledger.posting import TransferRequest, post
from service.ledger.verify import verify
from service.notifications.counters import UnreadCounts
from service.notifications.inbox import Told, write_notifications
from service.notifications.models import Notification
from service.organisation.models import Station
from service.stations.models import CatalogueItem, Redemption
from service.tasks.models import Participation
from tests.bench.http.baseline import (
    BASELINE_ACCOUNTS,
    BOARD_AROUND,
    BOARD_LIMIT,
    BOARD_MEMBERS,
    ITEM_ID,
    board_score,
)
from tests.bench.http.load import Request
from tests.bench.http.world import bearer, build_crowd, neighbourhood, people
from tests.integration.seeding import SITE, publish_starter_rules

# Sends one request to the app and gives back its status and JSON body: the harness
# sends over HTTP to the served app, the smoke test through Flask's test client.
Send = Callable[[Request], tuple[int, Any]]


@dataclass(frozen=True)
class SeedContext:
    secret_key: str  # the app's LIANXIN_SECRET_KEY, to issue tokens the server accepts
    count: int  # how many requests (objects to act on) to prepare
    now: datetime
    boards: Boards  # the app's leaderboards in Redis (its client and key prefix)


def _nothing_more(session: Session) -> list[str]:
    return []


def _no_probe(send: Send) -> list[str]:
    return []


@dataclass(frozen=True)
class Seeded:
    requests: list[Request]
    # The request keys whose effect the database shows (e.g. participations checked
    # in); None for reads, which change nothing to count.
    done: Callable[[Session], set[str]] | None
    # Invariants to hold after the run; each problem found is one line.
    verify: Callable[[Session], list[str]] = _nothing_more
    # Asked of the served app after the run, for what only an answer shows.
    probe: Callable[[Send], list[str]] = _no_probe


# A header as long as a real bearer token, so the baselines parse as much as the app.
_FAKE_BEARER = {"Authorization": "Bearer " + "x" * 300}


@dataclass(frozen=True)
class Baseline:
    """A route of baseline.py, ``<method> /baseline/<route>/<key>``, served by both the
    stack app (the target's denominator) and the bare psycopg app. A writing route
    leaves one row keyed by ``key`` in ``table``; a read (``table`` None) leaves none."""

    route: str
    work: str  # what it does, for the report: "INSERT + UPDATE + ZINCRBY"
    table: str | None
    body: Callable[[int], dict[str, Any]] | None = None
    query: Callable[[int], str] | None = None
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)

    def requests(self, count: int, side: str) -> list[Request]:
        """Keys are ``<side>-<n>``: both baselines write the same tables."""
        headers = {**_FAKE_BEARER, **self.headers}
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        return [
            Request(
                self.method,
                f"/baseline/{self.route}/{side}-{n}" + (f"?{self.query(n)}" if self.query else ""),
                headers,
                json.dumps(self.body(n)) if self.body else "",
                f"{side}-{n}",
            )
            for n in range(count)
        ]

    def done(self, side: str) -> Callable[[Session], set[str]] | None:
        """The keys ``side``'s requests left in the table; None for a read."""
        table = self.table
        if table is None:
            return None

        def done(session: Session) -> set[str]:
            return set(
                session.scalars(
                    text(f"SELECT request_key FROM {table} WHERE request_key LIKE :side"),  # noqa: S608
                    {"side": f"{side}-%"},
                )
            )

        return done


@dataclass(frozen=True)
class Scenario:
    name: str
    endpoint: str
    seed: Callable[[Session, SeedContext], Seeded]
    baseline: Baseline
    target: float | None  # the least acceptable ratio to the stack baseline; None: report only
    issue: str = field(default="")
    # The most app requests/s to seed for, when seeding is costly and the endpoint slow
    # (the run's --seed-rate otherwise); too few and the run is flagged "exhausted".
    seed_rate: int | None = None
    # What the stack app's floor route at the app's own path does, when the scenario has
    # one (baseline.py): the use case's statements alone, so its ratio is the most any
    # implementation on the stack could reach. Seeded like the app, from its own batch.
    floor: str | None = None


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


# Each member holds enough 幸福币 for one redemption and a little over.
PRICE = 2
COINS = 10


def seed_redeem(session: Session, context: SeedContext) -> Seeded:
    """A station with one item in stock for every request, priced small, and members
    who each hold 幸福币 (credited through the ledger, so it verifies) and redeem once:
    one open hold each, under any per-member cap."""
    now = context.now
    street, community, grid = neighbourhood(session)
    station = Station(place_id=community.id, name="压测驿站", lat=SITE[0], lng=SITE[1])
    session.add(station)
    session.flush()
    item = CatalogueItem(
        station_id=station.id, name="洗衣液", price=PRICE, currency="xingfubi", stock=context.count
    )
    session.add(item)
    session.flush()
    item_id, initial = item.id, context.count
    members = people(session, context.count, grid, Role.MEMBER, grid)
    issuance = system_account(session, issuance_key(street.id), "xingfubi").id
    for user_id in members:
        post(
            session,
            TransferRequest(
                idempotency_key=f"bench:coins:{user_id}",
                kind=TransferKind.EARN,
                currency="xingfubi",
                debit_account_id=issuance,
                credit_account_id=member_account(session, user_id, "xingfubi").id,
                amount=COINS,
                explanation="benchmark: coins to redeem with",
                created_at=now - timedelta(days=1),
            ),
        )
    body = json.dumps({"item_id": item_id, "quantity": 1})
    requests = [
        Request(
            "POST",
            "/api/v1/redemptions",
            {
                **bearer(context.secret_key, user_id, now),
                "Idempotency-Key": f"bench-redeem-{user_id}",
            },
            body,
            f"u{user_id}",
        )
        for user_id in members
    ]

    def held(session: Session) -> set[str]:
        return {
            f"u{user_id}"
            for user_id in session.scalars(
                select(Redemption.user_id).where(
                    Redemption.item_id == item_id,
                    Redemption.status == RedemptionStatus.HELD.value,
                )
            )
        }

    def consistent(session: Session) -> list[str]:
        report = verify(session)
        problems = [f"ledger verify: {line}" for line in report.problems]
        session.rollback()
        stock = session.scalar(select(CatalogueItem.stock).where(CatalogueItem.id == item_id))
        rows, quantity, holders, holds = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Redemption.quantity), 0),
                func.count(func.distinct(Redemption.user_id)),
                func.count(Redemption.hold_transfer_id),
            ).where(Redemption.item_id == item_id)
        ).one()
        if (stock or 0) + quantity != initial:
            problems.append(f"stock {stock} + held {quantity} != {initial} at the start")
        if rows != holders:
            problems.append(f"{rows} redemptions by {holders} members: someone redeemed twice")
        if holds != rows:
            problems.append(f"{rows} redemptions but {holds} with their points held")
        return problems

    return Seeded(requests, held, consistent)


def seed_leaderboard(session: Session, context: SeedContext) -> Seeded:
    """A community's 积分 board for this month with BOARD_MEMBERS members, written to
    Redis by the rebuild's own writer (as ``lianxin leaderboard rebuild`` would), so
    the app answers from Redis; each request is one member asking for the top 50 and
    the people around them."""
    now = context.now
    _, community, grid = neighbourhood(session)
    members = people(session, BOARD_MEMBERS, grid, Role.MEMBER, grid)
    board = Board(
        "jifen",
        Scope(ScopeKind.PLACE, community.id),
        period_label(Period.MONTH, local_date(now)),
    )
    write_board(
        context.boards,
        board,
        [(user_id, board_score(n)) for n, user_id in enumerate(members)],
        Snapshot(last_event_id=0, unapplied={}),
    )
    boards, key = context.boards, context.boards.key(board)
    path = (
        f"/api/v1/leaderboards/jifen?scope=org:{community.id}&period=month"
        f"&limit={BOARD_LIMIT}&around=me"
    )
    tokens: dict[int, dict[str, str]] = {}
    requests = [
        Request(
            "GET",
            path,
            tokens.setdefault(user_id, bearer(context.secret_key, user_id, now)),
            "",
            f"r{n}",
        )
        for n in range(context.count)
        for user_id in (members[n % len(members)],)
    ]

    def answered_from_redis(session: Session) -> list[str]:
        problems = []
        if boards.client.zcard(key) != BOARD_MEMBERS + 1:  # and the rebuild's sentinel
            problems.append(f"the board {key} no longer holds its {BOARD_MEMBERS} members")
        if missing := boards.client.scard(f"{boards.prefix}{MISSING_BOARDS}"):
            problems.append(f"{missing} board(s) found missing by readers: served from SQL")
        return problems

    def fresh(send: Send) -> list[str]:
        status, answer = send(requests[0])
        if status != 200:
            return [f"leaderboard read answered {status}"]
        problems = []
        if answer.get("stale") is not False:
            problems.append("leaderboard answered stale: from SQL, not Redis")
        if len(answer.get("items", [])) != BOARD_LIMIT or not answer.get("me"):
            problems.append("leaderboard answer lacks the top 50 or the caller's standing")
        if len(answer.get("around", [])) < BOARD_AROUND:
            problems.append("leaderboard answer lacks the people around the caller")
        return problems

    return Seeded(requests, None, answered_from_redis, fresh)


UNREAD_MEMBERS = 2_000


def seed_unread(session: Session, context: SeedContext) -> Seeded:
    """Members with five notifications each, two of them read; each asks for their
    unread count as the mini-program does on every page show. The counts are asked
    once before the run, as a member's first poll would: the run measures the polls
    answered from Redis (the ones that matter: every page show)."""
    now = context.now
    _, _, grid = neighbourhood(session)
    members = people(session, min(UNREAD_MEMBERS, context.count), grid, Role.MEMBER, grid)
    told = [
        Told(user_id, Topic.TASK_CANCELLED, f"bench:{n}", {"task_title": "巡逻", "reason": "雨"})
        for user_id in members
        for n in range(5)
    ]
    write_notifications(session, told, {}, now)
    session.execute(
        update(Notification)
        .where(Notification.user_id.in_(members), Notification.source.in_(["bench:0", "bench:1"]))
        .values(read_at=now)
    )
    counts = UnreadCounts(context.boards.client, context.boards.prefix)
    for user_id in members:
        counts.get(user_id, lambda: 3)
    tokens: dict[int, dict[str, str]] = {}
    requests = [
        Request(
            "GET",
            "/api/v1/me/notifications/unread-count",
            tokens.setdefault(user_id, bearer(context.secret_key, user_id, now)),
            "",
            f"u{n}",
        )
        for n in range(context.count)
        for user_id in (members[n % len(members)],)
    ]

    def counted(send: Send) -> list[str]:
        status, answer = send(requests[0])
        if status != 200 or answer != {"unread": 3}:
            return [f"unread count answered {status} {answer}, not 3"]
        return []

    return Seeded(requests, None, _nothing_more, counted)


def seed_refresh(session: Session, context: SeedContext) -> Seeded:
    """Members each signed in once on a device (one live refresh token each, stored
    hashed as sign-in stores it); each request trades a different member's token."""
    now = context.now
    _, _, grid = neighbourhood(session)
    members = people(session, context.count, grid, Role.MEMBER, grid)
    tokens = [new_refresh_token() for _ in members]
    rows = [
        {
            "user_id": user_id,
            "family": new_family(),
            "token_hash": hash_refresh_token(token),
            "issued_at": now - timedelta(days=1),
            "expires_at": now - timedelta(days=1) + REFRESH_TOKEN_LIFETIME,
        }
        for user_id, token in zip(members, tokens, strict=True)
    ]
    ids = list(
        session.scalars(
            insert(RefreshToken).returning(RefreshToken.id, sort_by_parameter_order=True), rows
        )
    )
    first, last = ids[0], ids[-1]
    headers = {"Content-Type": "application/json"}
    requests = [
        Request("POST", "/api/v1/auth/refresh", headers, json.dumps({"refresh_token": t}), f"t{i}")
        for i, t in zip(ids, tokens, strict=True)
    ]

    def used(session: Session) -> set[str]:
        return {
            f"t{token_id}"
            for token_id in session.scalars(
                select(RefreshToken.id).where(
                    RefreshToken.id.between(first, last), RefreshToken.used_at.is_not(None)
                )
            )
        }

    def rotated(session: Session) -> list[str]:
        families = (
            select(RefreshToken.family)
            .where(RefreshToken.id.between(first, last), RefreshToken.used_at.is_not(None))
            .scalar_subquery()
        )
        spent, revoked, successors = session.execute(
            select(
                func.count(RefreshToken.used_at),
                func.count(RefreshToken.revoked_at),
                func.count().filter(RefreshToken.id > last),
            ).where(RefreshToken.family.in_(families))
        ).one()
        problems = []
        if successors != spent:
            problems.append(f"{spent} refresh tokens used but {successors} issued in their place")
        if revoked:
            problems.append(f"{revoked} refresh tokens revoked: a token was presented twice")
        return problems

    return Seeded(requests, used, rotated)


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            name="checkin",
            endpoint="POST /api/v1/participations/{id}/checkin",
            seed=seed_checkin,
            baseline=Baseline(
                "checkin",
                "one INSERT",
                "bench_checkin",
                body=lambda n: {"lat": SITE[0] + 0.0002, "lng": SITE[1] + 0.0002, "accuracy": 15.0},
            ),
            target=0.75,
            issue="tasks: check-in throughput vs one INSERT",
            floor="floor: check-in's read + conditional UPDATE + token check",
        ),
        Scenario(
            name="approve",
            endpoint="POST /api/v1/participations/{id}/approve",
            seed=seed_approve,
            baseline=Baseline(
                "approve",
                "INSERT + UPDATE + ZINCRBY",
                "bench_transfer",
                body=lambda n: {"account_id": n % BASELINE_ACCOUNTS, "amount": 15},
            ),
            target=0.75,
            issue="ledger: approve → credit vs INSERT + UPDATE + ZINCRBY",
        ),
        Scenario(
            name="redeem",
            endpoint="POST /api/v1/redemptions",
            seed=seed_redeem,
            baseline=Baseline(
                "redeem",
                "conditional stock UPDATE + INSERT hold",
                "bench_hold",
                body=lambda n: {"item_id": ITEM_ID, "quantity": 1},
                headers={"Idempotency-Key": "x" * 20},
            ),
            target=0.6,
            issue="stations: redemption hold vs the same conditional UPDATE + INSERT",
            # Each member is credited through the ledger first: seed for a slower path.
            seed_rate=300,
        ),
        Scenario(
            name="leaderboard",
            endpoint="GET /api/v1/leaderboards/jifen?scope=org:{id}&period=month&limit=50"
            "&around=me",
            seed=seed_leaderboard,
            baseline=Baseline(
                "leaderboard",
                "ZREVRANGE + ZREVRANK + ZSCORE + ZREVRANGE around",
                None,
                query=lambda n: f"member=m{n % BOARD_MEMBERS}",
                method="GET",
            ),
            target=None,
            issue="leaderboards: read vs the same Redis reads (10,000 members)",
        ),
        Scenario(
            name="unread",
            endpoint="GET /api/v1/me/notifications/unread-count",
            seed=seed_unread,
            baseline=Baseline(
                "unread",
                "one HGET",
                None,
                query=lambda n: f"member=m{n % BOARD_MEMBERS}",
                method="GET",
            ),
            target=None,
            issue="notifications: unread count vs one Redis read (2,000 members)",
        ),
        Scenario(
            name="refresh",
            endpoint="POST /api/v1/auth/refresh",
            seed=seed_refresh,
            baseline=Baseline(
                "refresh",
                "one SELECT + one INSERT",
                "bench_refresh",
                body=lambda n: {"account_id": n % BASELINE_ACCOUNTS},
            ),
            target=None,
            issue="auth: sign-in refresh vs one SELECT + one INSERT",
        ),
    )
}
