"""A member's boards follow them whatever moves them: staff, the member, or a roster
import. Nothing calls the leaderboards to say so; the unit of work notices."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from api import extensions
from points.leaderboard import Scope, ScopeKind
from service.db import utcnow
from service.imports.roster import import_roster
from service.imports.spreadsheet import open_sheet
from service.outbox.status import status
from service.people.models import User
from tests.integration.leaderboard_world import Town, build_town, earn
from tests.integration.test_leaderboards import in_redis, rebuild
from tests.service.test_imports import ROSTER_HEADER, write_csv


@pytest.fixture
def town(app: Flask) -> Town:
    return build_town(app, people=3)  # one in each grid, so every grid has its boards


def grid(town: Town, n: int) -> Scope:
    return Scope(ScopeKind.PLACE, town.grids[n])


def change_member(app: Flask, user_id: int, *, commit: bool = True, **changes: object) -> None:
    """Change a member's row in a unit of work, as any use case would, naming no boards;
    without ``commit`` the change is flushed and then rolled back."""
    with app.app_context():
        uow = extensions.unit_of_work()
        with uow:
            user = uow.session.get(User, user_id)
            assert user is not None
            for name, value in changes.items():
                setattr(user, name, value)
            uow.session.flush()
            if commit:
                uow.commit()


def import_rows(app: Flask, path: Path) -> None:
    with app.app_context():
        with open_sheet(path, ("name", "phone", "residence")) as sheet:
            report = import_roster(extensions.unit_of_work(), extensions.phone_vault(), sheet.rows)
        assert not report.rejected, report


def test_a_roster_import_moves_a_members_boards_with_them(
    app: Flask, town: Town, tmp_path: Path
) -> None:
    row = ("李建国", "13800001234", "", "社区一/网格1", "党员")
    import_rows(app, write_csv(tmp_path / "first.csv", [ROSTER_HEADER, row]))
    rebuild(app)  # the boards exist, as after deployment
    with app.app_context():
        phone_hash = extensions.phone_vault().lookup_hash("13800001234")
        li = (
            extensions.session().scalars(select(User.id).where(User.phone_hash == phone_hash)).one()
        )
    earn(app, li, 30)
    assert (li, 30) in in_redis(app, grid(town, 0))

    moved = ("李建国", "13800001234", "", "社区二/网格3", "党员")
    import_rows(app, write_csv(tmp_path / "second.csv", [ROSTER_HEADER, moved]))

    assert (li, 30) in in_redis(app, grid(town, 2))
    assert li not in dict(in_redis(app, grid(town, 0)))
    assert li not in dict(in_redis(app, Scope(ScopeKind.PLACE, town.communities[0])))
    assert (li, 30) in in_redis(app, Scope(ScopeKind.PLACE, town.communities[1]))


def test_any_use_case_that_hides_or_moves_a_member_redoes_their_boards(
    app: Flask, town: Town
) -> None:
    rebuild(app)
    member = town.people[0]  # in grid 0, with the branch
    earn(app, member, 12)
    change_member(app, member, residence_place_id=town.grids[1])
    assert (member, 12) in in_redis(app, grid(town, 1))
    assert member not in dict(in_redis(app, grid(town, 0)))

    change_member(app, member, leaderboard_opt_out=True)
    assert member not in dict(in_redis(app, grid(town, 1)))
    assert member not in dict(in_redis(app, Scope(ScopeKind.BRANCH, town.branch)))


def test_a_move_rolled_back_leaves_the_boards_alone(app: Flask, town: Town) -> None:
    rebuild(app)
    member = town.people[0]
    earn(app, member, 7)
    change_member(app, member, commit=False, residence_place_id=town.grids[2])
    assert (member, 7) in in_redis(app, grid(town, 0))
    assert member not in dict(in_redis(app, grid(town, 2)))


def test_a_move_while_redis_is_down_is_redone_by_the_next_sweep(
    app: Flask, town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuild(app)
    member = town.people[0]
    earn(app, member, 9)
    with app.app_context():
        client = extensions.leaderboards().client

        def redis_down(*args: object, **kwargs: object) -> NoReturn:
            raise redis.ConnectionError("Redis is down")

        with monkeypatch.context() as patched:
            patched.setattr(client, "pipeline", redis_down)
            change_member(app, member, residence_place_id=town.grids[1])
        assert (member, 9) in in_redis(app, grid(town, 0))  # not redone yet
        [waiting] = status(extensions.session())
        assert (waiting.kind, waiting.waiting) == ("leaderboard.member_moved", 1)

        report = extensions.outbox_dispatcher().sweep(
            extensions.session(), now=utcnow() + timedelta(minutes=5)
        )
    assert report.handled == 1
    assert (member, 9) in in_redis(app, grid(town, 1))
    assert member not in dict(in_redis(app, grid(town, 0)))
