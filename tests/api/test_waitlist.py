"""The waitlist of a full task: joining it, being offered a freed place and told,
confirming in time, and the offer lapsing (on a frozen clock) to give the seat back."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from api import extensions
from api.cli import cli
from service.db import utcnow
from service.tasks.models import Participation
from service.tasks.waitlist import let_offers_lapse
from tests.api.test_signups import new_task, seats
from tests.api.world import World


def full_task_with_one_waiting(
    client: FlaskClient, world: World, starts_at: datetime
) -> tuple[int, int, int]:
    """A task of one place: the member holds it, the volunteer waits."""
    task = new_task(
        client,
        world,
        capacity=1,
        starts_at=starts_at.isoformat(),
        ends_at=(starts_at + timedelta(hours=2)).isoformat(),
    )
    held = world.call(client, "member", "POST", f"/tasks/{task}/waitlist").get_json()
    waiting = world.call(client, "volunteer", "POST", f"/tasks/{task}/waitlist").get_json()
    assert (held["status"], waiting["status"]) == ("signed_up", "waitlisted")
    return task, held["id"], waiting["id"]


def status(app: Flask, participation_id: int) -> str:
    with app.app_context():
        row = extensions.session().get(Participation, participation_id)
        assert row is not None
        return row.status


def lapse(app: Flask, now: datetime) -> tuple[int, int]:
    with app.app_context():
        report = let_offers_lapse(extensions.unit_of_work(), now)
        return report.lapsed, report.offered


def test_a_freed_place_is_offered_told_and_confirmed(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        task, held, waiting = full_task_with_one_waiting(client, world, now + timedelta(days=1))
        early = world.call(client, "volunteer", "POST", f"/participations/{waiting}/confirm")
        assert (early.status_code, early.get_json()["code"]) == (409, "invalid_transition")
        gone = world.call(client, "member", "POST", f"/participations/{held}/cancel")
        assert gone.get_json()["status"] == "cancelled"
        assert seats(app, task) == 1  # the offer holds the seat
    mine = world.call(client, "volunteer", "GET", "/me/participations").get_json()["items"]
    [offer] = [p for p in mine if p["id"] == waiting]
    assert offer["status"] == "offered"
    assert datetime.fromisoformat(offer["offer_expires_at"]) == now + timedelta(hours=2)
    told = world.call(client, "volunteer", "GET", "/me/notifications").get_json()["items"]
    [notice] = [n for n in told if n["kind"] == "task.place_offered"]
    assert (notice["data"]["participation_id"], notice["title"]) == (waiting, "候补到名额")
    # Someone else can't take it, and the one who left can't sign up past the line.
    theirs = world.call(client, "member", "POST", f"/participations/{waiting}/confirm")
    assert theirs.status_code == 404
    back = world.call(client, "member", "POST", f"/tasks/{task}/waitlist").get_json()
    assert back["status"] == "waitlisted"

    with time_machine.travel(now + timedelta(hours=1), tick=False):
        world.refresh_token(app, "volunteer")  # an hour on, the old one has expired
        taken = world.call(client, "volunteer", "POST", f"/participations/{waiting}/confirm")
        assert taken.status_code == 200, taken.get_json()
        assert (taken.get_json()["status"], taken.get_json()["offer_expires_at"]) == (
            "signed_up",
            None,
        )
        again = world.call(client, "volunteer", "POST", f"/participations/{waiting}/confirm")
        assert (again.status_code, again.get_json()["code"]) == (409, "invalid_transition")
    assert seats(app, task) == 1
    assert lapse(app, now + timedelta(days=1)) == (0, 0)  # nothing left to lapse


def test_an_offer_not_confirmed_in_time_lapses_to_the_next_in_line(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        task, held, waiting = full_task_with_one_waiting(client, world, now + timedelta(days=1))
        world.call(client, "member", "POST", f"/participations/{held}/cancel")
        # The member joins the line again, behind the volunteer who was offered the place.
        back = world.call(client, "member", "POST", f"/tasks/{task}/waitlist").get_json()
        assert back["status"] == "waitlisted"
    assert lapse(app, now + timedelta(hours=2) - timedelta(seconds=1)) == (0, 0)
    with time_machine.travel(now + timedelta(hours=2), tick=False):
        world.refresh_token(app, "volunteer")
        late = world.call(client, "volunteer", "POST", f"/participations/{waiting}/confirm")
        assert (late.status_code, late.get_json()["code"]) == (409, "offer_expired")
    assert status(app, waiting) == "offered"  # a refused confirmation changes nothing
    later = now + timedelta(hours=2)
    assert lapse(app, later) == (1, 1)
    assert lapse(app, later) == (0, 0)  # running it again does nothing twice
    assert (status(app, waiting), status(app, back["id"])) == ("cancelled", "offered")
    assert seats(app, task) == 1
    with app.app_context():
        row = extensions.session().get(Participation, back["id"])
        assert row is not None
        assert row.offer_expires_at == later + timedelta(hours=2)
    # Nobody else waits: when this one lapses too, the seat goes back to the task.
    assert lapse(app, later + timedelta(hours=2)) == (1, 0)
    assert seats(app, task) == 0


def test_an_offer_close_to_the_start_runs_until_the_start(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    starts_at = now + timedelta(minutes=40)
    with time_machine.travel(now, tick=False):
        _, held, waiting = full_task_with_one_waiting(client, world, starts_at)
        world.call(client, "member", "POST", f"/participations/{held}/cancel")
    with app.app_context():
        row = extensions.session().get(Participation, waiting)
        assert row is not None
        assert (row.status, row.offer_expires_at) == ("offered", starts_at)


def test_leaving_the_waitlist_frees_no_seat_and_declining_an_offer_passes_it_on(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        task, held, waiting = full_task_with_one_waiting(client, world, now + timedelta(days=1))
        left = world.call(client, "volunteer", "POST", f"/participations/{waiting}/cancel")
        assert left.get_json()["status"] == "cancelled"
        assert seats(app, task) == 1
        assert status(app, held) == "signed_up"
        back = world.call(client, "volunteer", "POST", f"/tasks/{task}/waitlist").get_json()
        assert (back["id"], back["status"]) == (waiting, "waitlisted")
        world.call(client, "member", "POST", f"/participations/{held}/cancel")
        assert status(app, waiting) == "offered"
        declined = world.call(client, "volunteer", "POST", f"/participations/{waiting}/cancel")
        assert declined.get_json()["status"] == "cancelled"
    assert seats(app, task) == 0


def test_a_cancelled_task_closes_its_waitlist_and_offers(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        task, held, waiting = full_task_with_one_waiting(client, world, now + timedelta(days=1))
        called_off = world.call(
            client, "staff", "POST", f"/tasks/{task}/cancel", {"reason": "暴雨"}
        )
        assert called_off.status_code == 200
    assert (status(app, held), status(app, waiting)) == ("cancelled", "cancelled")


def test_places_added_to_a_full_task_go_to_its_waitlist_first(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        task, held, waiting = full_task_with_one_waiting(client, world, now + timedelta(days=1))
        grown = world.call(
            client, "staff", "PATCH", f"/tasks/{task}", {"version": 1, "capacity": 3}
        )
        assert grown.status_code == 200, grown.get_json()
    # One waited, so one of the two new places is offered; the other stays free.
    assert (status(app, held), status(app, waiting)) == ("signed_up", "offered")
    assert seats(app, task) == 2


def test_lianxin_tasks_lapse_offers_hands_on_what_ran_out(
    app: Flask, client: FlaskClient, world: World, runner: FlaskCliRunner
) -> None:
    now = utcnow().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        task, held, waiting = full_task_with_one_waiting(client, world, now + timedelta(days=1))
        world.call(client, "member", "POST", f"/participations/{held}/cancel")
    moment = (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S%z")
    done = runner.invoke(cli, ["tasks", "lapse-offers", "--now", moment])
    assert done.exit_code == 0, done.output
    assert done.output == "lapsed 1 offer(s), 0 passed on, 0 place(s) in line closed\n"
    again = runner.invoke(cli, ["tasks", "lapse-offers", "--now", moment])
    assert again.output == "lapsed 0 offer(s), 0 passed on, 0 place(s) in line closed\n"
    assert (status(app, waiting), seats(app, task)) == ("cancelled", 0)


def test_the_line_closes_when_the_task_starts_and_not_a_second_before(
    app: Flask, client: FlaskClient, world: World
) -> None:
    now = utcnow().replace(microsecond=0)
    starts_at = now + timedelta(days=1)
    with time_machine.travel(now, tick=False):
        task, held, waiting = full_task_with_one_waiting(client, world, starts_at)
    with app.app_context():
        before = let_offers_lapse(extensions.unit_of_work(), starts_at - timedelta(seconds=1))
        assert before.closed == 0
    assert status(app, waiting) == "waitlisted"
    with app.app_context():
        report = let_offers_lapse(extensions.unit_of_work(), starts_at)
        assert (report.lapsed, report.offered, report.closed) == (0, 0, 1)
        again = let_offers_lapse(extensions.unit_of_work(), starts_at)
        assert again.closed == 0
    # The one seated keeps the place; the seat count is untouched by the line.
    assert (status(app, held), status(app, waiting)) == ("signed_up", "cancelled")
    assert seats(app, task) == 1


def test_signing_up_for_a_full_task_is_still_refused_and_the_waitlist_is_asked_for(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = new_task(client, world, capacity=1)
    assert world.call(client, "member", "POST", f"/tasks/{task}/signups").status_code == 201
    full = world.call(client, "volunteer", "POST", f"/tasks/{task}/signups")
    assert (full.status_code, full.get_json()["code"]) == (409, "task_full")
    with app.app_context():
        rows = extensions.session().query(Participation).filter_by(task_id=task).count()
    assert rows == 1  # the refused sign-up left nothing behind
    joined = world.call(client, "volunteer", "POST", f"/tasks/{task}/waitlist")
    assert (joined.status_code, joined.get_json()["status"]) == (201, "waitlisted")
    assert seats(app, task) == 1
