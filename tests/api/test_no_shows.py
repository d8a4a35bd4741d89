"""No-shows on a frozen clock: marked by the sweep exactly when the task ends (not
before, not the ones who withdrew or came), told, holding no seat and moving no points;
three in the window refuse sign-up and the waitlist until the window rolls past them or
staff excuse one; the policy kept per place, nearest up the tree, or off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import time_machine
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from api import extensions
from api.cli import cli
from service.audit.models import AuditEntry
from service.db import utcnow
from service.ledger.models import LedgerAccount, Transfer
from service.tasks.models import Participation
from service.tasks.no_shows import mark_no_shows
from tests.api.test_orders import staff_of_b
from tests.api.test_signups import new_task, seats
from tests.api.world import World

HERE = {"lat": 39.9163, "lng": 116.4039, "accuracy": 15}


@contextmanager
def at(app: Flask, world: World, moment: datetime, *roles: str) -> Iterator[None]:
    """The clock stopped at ``moment``, with fresh tokens for ``roles`` there."""
    with time_machine.travel(moment, tick=False):
        for role in roles:
            world.refresh_token(app, role)
        yield


def task_ending(
    client: FlaskClient, world: World, now: datetime, ends_in: timedelta, **changes: Any
) -> int:
    """A two-hour task of community A ending ``ends_in`` after ``now`` (made at ``now``)."""
    ends_at = now + ends_in
    return new_task(
        client,
        world,
        starts_at=(ends_at - timedelta(hours=2)).isoformat(),
        ends_at=ends_at.isoformat(),
        checkin_mode="geofence",
        **changes,
    )


def signed_up(client: FlaskClient, world: World, task: int, role: str = "member") -> int:
    response = world.call(client, role, "POST", f"/tasks/{task}/signups")
    assert response.status_code == 201, response.get_json()
    participation: int = response.get_json()["id"]
    return participation


def mark(app: Flask, now: datetime) -> int:
    with app.app_context():
        return mark_no_shows(extensions.unit_of_work(), now)


def stored(app: Flask, participation_id: int) -> Participation:
    with app.app_context():
        row = extensions.session().get(Participation, participation_id)
        assert row is not None
        return row


def ledger_state(app: Flask) -> tuple[int, list[tuple[int, int, int, int]]]:
    with app.app_context():
        session = extensions.session()
        transfers = session.scalar(select(func.count()).select_from(Transfer)) or 0
        accounts = session.execute(
            select(
                LedgerAccount.id,
                LedgerAccount.debits_posted,
                LedgerAccount.credits_posted,
                LedgerAccount.debits_pending,
            ).order_by(LedgerAccount.id)
        )
        return transfers, [tuple(row) for row in accounts]


def three_no_shows(app: Flask, client: FlaskClient, world: World, now: datetime) -> list[int]:
    """The member missed three tasks ending 3, 4 and 5 hours after ``now``; marked at 5."""
    with at(app, world, now, "staff", "member"):
        missed = [
            signed_up(client, world, task_ending(client, world, now, timedelta(hours=hours)))
            for hours in (3, 4, 5)
        ]
    assert mark(app, now + timedelta(hours=5)) == 3
    return missed


def test_marked_exactly_when_the_task_ends_told_seatless_and_no_points_move(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    ends_at = now + timedelta(hours=3)
    with at(app, world, now, "staff", "member", "volunteer"):
        task = task_ending(client, world, now, timedelta(hours=3))
        missed = signed_up(client, world, task)
        came = signed_up(client, world, task, "volunteer")
        # Withdrawing before the start is no no-show.
        other = task_ending(client, world, now, timedelta(hours=3))
        withdrew = signed_up(client, world, other)
        gone = world.call(client, "member", "POST", f"/participations/{withdrew}/cancel")
        assert gone.get_json()["status"] == "cancelled"
    with at(app, world, ends_at - timedelta(hours=1), "volunteer"):
        checked = world.call(client, "volunteer", "POST", f"/participations/{came}/checkin", HERE)
        assert checked.get_json()["status"] == "checked_in"
    before = ledger_state(app)
    assert seats(app, task) == 2

    assert mark(app, ends_at - timedelta(seconds=1)) == 0  # not before the end
    assert stored(app, missed).status == "signed_up"
    assert mark(app, ends_at) == 1
    assert mark(app, ends_at + timedelta(minutes=1)) == 0  # nothing twice
    row = stored(app, missed)
    assert (row.status, row.no_show_at) == ("no_show", ends_at)
    assert (stored(app, came).status, stored(app, withdrew).status) == ("checked_in", "cancelled")
    assert seats(app, task) == 1  # the no-show holds no seat
    assert ledger_state(app) == before  # about places, not punishment

    with at(app, world, ends_at + timedelta(minutes=1), "member", "staff"):
        told = world.call(client, "member", "GET", "/me/notifications").get_json()["items"]
        [notice] = [n for n in told if n["kind"] == "task.no_show"]
        assert (notice["data"]["participation_id"], notice["title"]) == (missed, "未到场记录")
        # Checking in after the end is refused by the table, with nothing changed.
        late = world.call(client, "member", "POST", f"/participations/{missed}/checkin", HERE)
        assert (late.status_code, late.get_json()["code"]) == (409, "invalid_transition")
        # A task cancelled afterwards leaves the no-show as it is.
        cancelled = world.call(client, "staff", "POST", f"/tasks/{task}/cancel", {"reason": "补记"})
        assert cancelled.status_code == 200, cancelled.get_json()
    assert stored(app, missed).status == "no_show"
    assert ledger_state(app) == before


def test_three_no_shows_block_sign_up_and_the_waitlist_until_the_window_rolls_past(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    with at(app, world, now, "staff"):
        later = task_ending(client, world, now, timedelta(days=200))
    first = three_no_shows(app, client, world, now)
    clears_at = now + timedelta(hours=3) + timedelta(days=90)  # the oldest leaves the window

    with at(app, world, now + timedelta(hours=6), "member"):
        for path in ("signups", "waitlist"):
            refused = world.call(client, "member", "POST", f"/tasks/{later}/{path}")
            body = refused.get_json()
            assert (refused.status_code, body["code"]) == (409, "too_many_no_shows")
            assert datetime.fromisoformat(body["errors"]["clears_at"]) == clears_at
            assert clears_at.isoformat() in body["message"]
        mine = world.call(client, "member", "GET", "/me/no-shows").get_json()
    assert (mine["blocked"], datetime.fromisoformat(mine["clears_at"])) == (True, clears_at)
    assert [item["participation_id"] for item in mine["items"]] == first[::-1]  # newest first
    assert {item["excused"] for item in mine["items"]} == {False}
    assert (mine["policy"]["max_no_shows"], mine["policy"]["window_days"]) == (3, 90)
    assert mine["policy"]["default"] is True
    with app.app_context():
        count = extensions.session().query(Participation).filter_by(task_id=later).count()
    assert (count, seats(app, later)) == (0, 0)  # the refusals left nothing behind

    with at(app, world, clears_at - timedelta(seconds=1), "member"):
        still = world.call(client, "member", "POST", f"/tasks/{later}/signups")
        assert (still.status_code, still.get_json()["code"]) == (409, "too_many_no_shows")
    with at(app, world, clears_at, "member"):
        mine = world.call(client, "member", "GET", "/me/no-shows").get_json()
        assert (mine["blocked"], mine["clears_at"], len(mine["items"])) == (False, None, 2)
        assert signed_up(client, world, later)


def test_staff_excuse_a_no_show_with_a_reason_which_clears_the_block(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    with at(app, world, now, "staff"):
        later = task_ending(client, world, now, timedelta(days=10))
    first, *_ = three_no_shows(app, client, world, now)
    before = ledger_state(app)
    other = staff_of_b(app, world)
    path = f"/participations/{first}/excuse"
    with at(app, world, now + timedelta(hours=6), "member", "staff", other):
        stranger = world.call(client, other, "POST", path, {"reason": "生病"})
        assert (stranger.status_code, stranger.get_json()["code"]) == (404, "not_found")
        own = world.call(client, "member", "POST", path, {"reason": "我生病了"})
        assert own.status_code == 404  # a member is no staff of the task's place
        blank = world.call(client, "staff", "POST", path, {"reason": ""})
        assert blank.status_code == 422
        assert stored(app, first).status == "no_show"  # the refusals changed nothing

        roster = world.call(
            client, other, "GET", f"/tasks/{stored(app, first).task_id}/participations"
        )
        assert roster.status_code == 404
        excused = world.call(client, "staff", "POST", path, {"reason": "住院，有医院证明"})
        assert excused.status_code == 200, excused.get_json()
        body = excused.get_json()
        assert (body["status"], body["excuse_reason"]) == ("excused", "住院，有医院证明")
        twice = world.call(client, "staff", "POST", path, {"reason": "再次"})
        assert (twice.status_code, twice.get_json()["code"]) == (409, "invalid_transition")

        roster = world.call(client, "staff", "GET", f"/tasks/{body['task_id']}/participations")
        [listed] = roster.get_json()["items"]
        assert (listed["id"], listed["status"], listed["excuse_reason"]) == (
            first,
            "excused",
            "住院，有医院证明",
        )
        assert datetime.fromisoformat(listed["no_show_at"]) == now + timedelta(hours=3)
        assert listed["member_name"] == "member"  # staff read the roster by name

        mine = world.call(client, "member", "GET", "/me/no-shows").get_json()
        assert (mine["blocked"], mine["clears_at"]) == (False, None)
        [excused_item] = [item for item in mine["items"] if item["excused"]]
        assert (excused_item["participation_id"], excused_item["excuse_reason"]) == (
            first,
            "住院，有医院证明",
        )
        assert signed_up(client, world, later)
    assert ledger_state(app) == before
    with app.app_context():
        [entry] = extensions.session().scalars(
            select(AuditEntry).where(AuditEntry.action == "participation.excuse")
        )
        assert (entry.object_id, entry.place_id) == (first, world.ids["community_A"])
        assert (entry.before, entry.after["status"]) == ({"status": "no_show"}, "excused")
    # An excuse stands without an open task to take it back: nothing marks it again.
    assert mark(app, now + timedelta(days=1)) == 0
    assert stored(app, first).status == "excused"


def test_the_nearest_policy_applies_and_off_lets_everyone_in(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    community, street = world.ids["community_A"], world.ids["street"]
    other = staff_of_b(app, world)
    with at(app, world, now, "staff", "member", "root", other):
        strict = {"org_id": community, "max_no_shows": 1, "window_days": 30}
        refused = world.call(client, other, "PUT", "/no-show-policies", strict)
        assert refused.status_code == 404
        bad = world.call(client, "staff", "PUT", "/no-show-policies", {**strict, "max_no_shows": 0})
        assert (bad.status_code, list(bad.get_json()["errors"])) == (422, ["max_no_shows"])
        kept = world.call(client, "staff", "PUT", "/no-show-policies", strict)
        assert kept.status_code == 200, kept.get_json()
        assert (kept.get_json()["active"], kept.get_json()["default"]) == (True, False)
        off = {"org_id": street, "max_no_shows": 3, "window_days": 90, "active": False}
        assert world.call(client, "root", "PUT", "/no-show-policies", off).status_code == 200
        listed = world.call(client, "staff", "GET", "/no-show-policies").get_json()
        # The staff of the community see its policy and the default, not the street's.
        assert [(p["org_id"], p["max_no_shows"]) for p in listed] == [(community, 1), (None, 3)]
        assert world.call(client, "member", "GET", "/no-show-policies").status_code == 403

        missed = signed_up(client, world, task_ending(client, world, now, timedelta(hours=3)))
        later = task_ending(client, world, now, timedelta(days=10))
    assert mark(app, now + timedelta(hours=3)) == 1
    with at(app, world, now + timedelta(hours=4), "member", "staff", other):
        refused = world.call(client, "member", "POST", f"/tasks/{later}/signups")
        assert refused.get_json()["code"] == "too_many_no_shows"
        clears_at = datetime.fromisoformat(refused.get_json()["errors"]["clears_at"])
        assert clears_at == now + timedelta(hours=3) + timedelta(days=30)
        mine = world.call(client, "member", "GET", f"/me/no-shows?org_id={community}").get_json()
        assert [item["participation_id"] for item in mine["items"]] == [missed]
        assert mine["blocked"] is True
        # Forgetting the community's own leaves the street's: off.
        policy_id = kept.get_json()["id"]
        gone = world.call(client, other, "DELETE", f"/no-show-policies/{policy_id}")
        assert gone.status_code == 404
        forgot = world.call(client, "staff", "DELETE", f"/no-show-policies/{policy_id}")
        assert forgot.status_code == 204
        assert signed_up(client, world, later)


def test_lianxin_tasks_mark_no_shows_as_of_a_moment(
    app: Flask, client: FlaskClient, world: World, runner: FlaskCliRunner
) -> None:
    now = utcnow().replace(microsecond=0)
    with at(app, world, now, "staff", "member"):
        missed = signed_up(client, world, task_ending(client, world, now, timedelta(hours=3)))
    moment = (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S%z")
    done = runner.invoke(cli, ["tasks", "mark-no-shows", "--now", moment])
    assert done.exit_code == 0, done.output
    assert done.output == "marked 1 no-show(s)\n"
    again = runner.invoke(cli, ["tasks", "mark-no-shows", "--now", moment])
    assert again.output == "marked 0 no-show(s)\n"
    assert stored(app, missed).status == "no_show"


def test_a_no_show_of_a_task_called_off_after_it_ended_does_not_count(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    with at(app, world, now, "staff"):
        later = task_ending(client, world, now, timedelta(days=200))
    missed = three_no_shows(app, client, world, now)
    task_of_first = stored(app, missed[0]).task_id
    with at(app, world, now + timedelta(hours=6), "staff", "member"):
        called_off = world.call(
            client, "staff", "POST", f"/tasks/{task_of_first}/cancel", {"reason": "记录作废"}
        )
        assert called_off.status_code == 200, called_off.get_json()
        # Two no-shows count now: under the policy's three, sign-up is open again.
        assert signed_up(client, world, later)
