"""`lianxin leaderboard sync | rebuild | reconcile | prune` and `lianxin worker`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner

from api import extensions
from api.cli import cli
from points.calendar import local_date
from points.leaderboard import Period, Scope, ScopeKind, board_key, period_label
from service.db import utcnow
from tests.conftest import Backend
from tests.integration.leaderboard_world import build_town, unapplied
from tests.ledger_helpers import credit

LIANXIN = str(Path(sys.executable).with_name("lianxin"))


def street_board(app: Flask, street: int) -> str:
    with app.app_context():
        return board_key(
            extensions.settings().redis_prefix, "jifen", Scope(ScopeKind.PLACE, street), "all"
        )


def test_sync_rebuild_reconcile_and_prune(app: Flask, runner: FlaskCliRunner) -> None:
    town = build_town(app)
    with app.app_context():
        session = extensions.session()
        credit(session, town.people[0], "jifen", 40)  # committed outside a unit of work:
        credit(session, town.people[1], "jifen", 15)  # only the sweeper tells Redis
    assert unapplied(app) == 2

    synced = runner.invoke(cli, ["leaderboard", "sync"])
    assert synced.exit_code == 0, synced.output
    assert unapplied(app) == 0
    key = street_board(app, town.street)
    with app.app_context():
        client = extensions.redis_client()
        assert client.zscore(key, f"{9_999_999_999 - town.people[0]:010d}") == 40

    rebuilt = runner.invoke(cli, ["leaderboard", "rebuild", "--scope", f"org:{town.street}"])
    assert rebuilt.exit_code == 0, rebuilt.output
    # 2 currencies × 17 kept periods (4 each of week, month, quarter, year; all time);
    # two members on the five periods of today in 积分.
    assert "leaderboards rebuilt: 34 board(s), 10 entries" in rebuilt.output

    # A board gone wrong (a bad manual edit), and one from long ago.
    stale_label = period_label(Period.MONTH, local_date(utcnow()).replace(year=2020))
    old = board_key(
        extensions_prefix(app), "jifen", Scope(ScopeKind.PLACE, town.street), stale_label
    )
    with app.app_context():
        client = extensions.redis_client()
        client.zincrby(key, 5, f"{9_999_999_999 - town.people[1]:010d}")
        client.zadd(old, {"0000000001": 3})
    reconciled = runner.invoke(cli, ["leaderboard", "reconcile"])
    assert reconciled.exit_code == 0, reconciled.output
    assert "1 repaired, 1 old board(s) pruned" in reconciled.output
    assert f"repaired {key}: 1 member differs" in reconciled.output
    with app.app_context():
        client = extensions.redis_client()
        assert client.zscore(key, f"{9_999_999_999 - town.people[1]:010d}") == 15
        assert not client.exists(old)
    again = runner.invoke(cli, ["leaderboard", "reconcile"])
    assert "0 repaired, 0 old board(s) pruned" in again.output

    pruned = runner.invoke(cli, ["leaderboard", "prune"])
    assert pruned.exit_code == 0
    assert "0 old board(s)" in pruned.output


def extensions_prefix(app: Flask) -> str:
    with app.app_context():
        return extensions.settings().redis_prefix


def test_bad_scope_is_a_usage_error(runner: FlaskCliRunner) -> None:
    result = runner.invoke(cli, ["leaderboard", "rebuild", "--scope", "street:1"])
    assert result.exit_code == 2
    assert "org:<id>" in result.output


def test_worker_sweeps_then_stops_on_sigterm(app: Flask, backend: Backend) -> None:
    town = build_town(app)
    with app.app_context():
        credit(extensions.session(), town.people[0], "jifen", 9)
    worker = subprocess.Popen(
        [LIANXIN, "worker", "--interval", "0.2"],
        env=backend.environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while unapplied(app) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert unapplied(app) == 0
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output.decode()
    assert b"lianxin worker: stopped" in output
