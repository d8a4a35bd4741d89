"""`lianxin outbox status | sweep | retry` and the worker handing out the outbox."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import update

from api import extensions
from api.cli import cli
from points.leaderboard import Scope, ScopeKind
from service.db import utcnow
from service.leaderboards.feed import LeaderboardFeed
from service.outbox.models import OUTBOX_TABLE
from service.people.models import User
from service.unit_of_work import UnitOfWork
from tests.integration.leaderboard_world import Town, build_town, earn
from tests.integration.test_leaderboards import in_redis, rebuild


def move_without_telling(app: Flask, town: Town, member: int) -> None:
    """A member moved by a process that died right after its commit: the move is in
    the outbox, handed to no one, and its writer's lease has run out."""
    with app.app_context():
        session = extensions.session()
        uow = UnitOfWork(session, consumers=(LeaderboardFeed(extensions.leaderboards()),))
        with uow:
            user = session.get(User, member)
            assert user is not None
            user.residence_place_id = town.grids[2]
            uow.commit()
        session.execute(update(OUTBOX_TABLE).values(due_at=utcnow() - timedelta(seconds=1)))
        session.commit()


def test_status_then_sweep_hands_out_what_waits(app: Flask, runner: FlaskCliRunner) -> None:
    town = build_town(app, people=3)
    rebuild(app)
    member = town.people[0]
    earn(app, member, 5)
    move_without_telling(app, town, member)

    waiting = runner.invoke(cli, ["outbox", "status"])
    assert waiting.exit_code == 0, waiting.output
    assert "leaderboard.member_moved" in waiting.output
    assert (member, 5) not in in_redis(app, Scope(ScopeKind.PLACE, town.grids[2]))

    swept = runner.invoke(cli, ["outbox", "sweep"])
    assert swept.exit_code == 0, swept.output
    assert "outbox swept: 1 handled, 0 failed (0 given up)" in swept.output
    assert (member, 5) in in_redis(app, Scope(ScopeKind.PLACE, town.grids[2]))
    assert runner.invoke(cli, ["outbox", "status"]).output == "outbox: nothing waits\n"


def test_given_up_messages_fail_the_status_until_retried(
    app: Flask, runner: FlaskCliRunner
) -> None:
    town = build_town(app, people=3)
    move_without_telling(app, town, town.people[0])
    with app.app_context():
        session = extensions.session()
        session.execute(
            update(OUTBOX_TABLE).values(failed_at=utcnow(), last_error="RedisError: down")
        )
        session.commit()

    stuck = runner.invoke(cli, ["outbox", "status"])
    assert stuck.exit_code == 1  # a check run from cron sees it
    assert "RedisError: down" in stuck.output
    assert "outbox swept: 0 handled" in runner.invoke(cli, ["outbox", "sweep"]).output

    retried = runner.invoke(cli, ["outbox", "retry", "--kind", "leaderboard.member_moved"])
    assert retried.output == "outbox: 1 message(s) back in line\n"
    assert runner.invoke(cli, ["outbox", "status"]).exit_code == 0


def test_the_worker_hands_out_the_outbox(app: Flask, runner: FlaskCliRunner) -> None:
    town = build_town(app, people=3)
    rebuild(app)
    member = town.people[0]
    earn(app, member, 4)
    move_without_telling(app, town, member)

    result = runner.invoke(cli, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert (member, 4) in in_redis(app, Scope(ScopeKind.PLACE, town.grids[2]))
    assert runner.invoke(cli, ["outbox", "status"]).output == "outbox: nothing waits\n"
