"""Two production instances on one machine, behind a round-robin client, sharing the
run's PostgreSQL database and Redis: a community's mixed day spread over both, then
the ledger, the stock and the leaderboards must still add up.

The short version CI runs (`make test` on PostgreSQL + Redis); the longer run is
``python -m tests.bench.multi_instance``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from api import extensions
from points.calendar import local_date
from points.leaderboard import Period, Scope, ScopeKind
from service.db import utcnow
from service.leaderboards.rebuild import Selection, regenerate
from service.leaderboards.totals import ordered_scores
from service.ledger.models import EarningEvent
from service.ledger.verify import verify
from service.stations.models import CatalogueItem, Redemption
from tests.conftest import Backend
from tests.integration.multi_instance import (
    EARNED,
    Instance,
    World,
    drive,
    production_environ,
    running,
    seed_world,
    summary,
)
from tests.wechat_stub import LOGIN, WechatStub

pytestmark = pytest.mark.postgres

MEMBERS = 30
STOCK = 10  # fewer than the members who want one
REPLAYED = 4


@pytest.fixture
def world(app: Flask, stub: WechatStub) -> World:
    world = seed_world(app, members=MEMBERS, stock=STOCK)
    for openid, code in world.sign_in_codes().items():
        stub.add_user(code, openid)
    return world


@pytest.fixture
def instances(backend: Backend, stub: WechatStub, tmp_path: Path) -> Iterator[list[Instance]]:
    # Two workers each, four threads each, a small pool: what fits beside other runs on
    # a shared PostgreSQL (the finaliser stops both even when the test fails).
    environ = production_environ(backend, stub, LIANXIN_THREADS="4", LIANXIN_DB_POOL_SIZE="4")
    with running(environ, tmp_path, instances=2, workers=2) as started:
        yield started


def test_two_instances_share_one_truth(
    app: Flask,
    instances: list[Instance],
    world: World,
    stub: WechatStub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcome = drive(instances, world, replayed=REPLAYED)

    # Sign-in really went to WeChat (the stub), once per person.
    assert stub.calls[LOGIN] == MEMBERS + 1
    assert len({m.user_id for m in outcome.members}) == MEMBERS

    # Every approval credited both currencies by the published starter rules.
    for approved in outcome.approvals:
        assert approved["participation"]["status"] == "approved"
        credited = {t["currency"]: t["amount"] for t in approved["transfers"]}
        assert credited == EARNED

    # Each approval reached Redis at its commit, whichever instance made it: every
    # member, on whichever instance they asked, sees all thirty tied on 11 积分.
    for member, board in zip(outcome.members, outcome.boards_read, strict=True):
        assert board["stale"] is False
        assert board["me"] == {"rank": 1, "score": EARNED["jifen"]}, member
        assert sorted(entry["user_id"] for entry in board["items"]) == sorted(
            m.user_id for m in outcome.members
        )

    # The race: exactly STOCK members got the item, the rest were told it is gone.
    statuses = Counter(a.status for a in outcome.attempts)
    assert statuses == {201: STOCK, 409: MEMBERS - STOCK}, statuses
    assert {a.body["code"] for a in outcome.attempts if a.status == 409} == {"out_of_stock"}
    # Half the race ran on each instance (which instance's requests win is up to the
    # scheduler, so that is not asserted).
    assert Counter(a.instance for a in outcome.attempts) == {0: MEMBERS // 2, 1: MEMBERS // 2}
    # A replay on the other instance, at the same moment or later, answers as the
    # first did: the same hold, word for word, or the same refusal.
    for original, replay in outcome.replays:
        assert replay.instance != original.instance
        assert replay.status == original.status, (original, replay)
        if original.status == 201:
            assert replay.body == original.body
        else:
            assert replay.body["code"] == original.body["code"]

    with app.app_context():
        session = extensions.session()
        # No item oversold: the shelf is empty and exactly STOCK holds stand.
        item = session.get(CatalogueItem, world.item_id)
        assert item is not None
        assert item.stock == 0
        held = session.scalars(
            select(Redemption.user_id).where(
                Redemption.item_id == world.item_id, Redemption.status == "held"
            )
        ).all()
        assert len(held) == STOCK
        winners = {outcome.members[a.member].user_id for a in outcome.attempts if a.status == 201}
        assert set(held) == winners

        report = verify(session)
        assert report.clean, report.problems

        # Every outbox event reached Redis from the instance that wrote it; none was
        # left for the sweeper (no `leaderboard sync` runs here).
        events = session.scalar(select(func.count()).select_from(EarningEvent))
        unapplied = session.scalar(
            select(func.count()).select_from(EarningEvent).where(EarningEvent.applied_at.is_(None))
        )
        assert events == 2 * MEMBERS  # one per currency per approval
        assert unapplied == 0

        # Redis agrees with the ledger on every board, and the community's 积分 board
        # holds each member's earned total.
        community = Scope(ScopeKind.PLACE, world.community)
        expected = ordered_scores(session, "jifen", community, Period.ALL, local_date(utcnow()))
        assert expected == sorted((m.user_id, EARNED["jifen"]) for m in outcome.members)
        session.rollback()
        reconciled = regenerate(
            session, extensions.leaderboards(), Selection(), now=utcnow(), compare=True
        )
        assert reconciled.boards > 0
        assert reconciled.differences == []

    # The load was spread: each instance's log shows the requests it answered.
    served = [_requests_logged(instance) for instance in instances]
    assert min(served) >= outcome.requests // 4, served

    # Reported, not asserted (memory targets are the benchmarks' to measure: see
    # tests/bench/multi_instance.py): how much each worker holds after the load.
    memory = [m for instance in instances for m in instance.worker_memory()]
    assert len(memory) == 4
    with capsys.disabled():
        print(f"\nmulti-instance: {summary(outcome, memory)}")


def _requests_logged(instance: Instance) -> int:
    return sum(
        1 for line in instance.log_path.read_text().splitlines() if '"lianxin.request"' in line
    )
