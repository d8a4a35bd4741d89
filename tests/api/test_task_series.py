"""Recurring tasks (周期任务) through the API, on a frozen clock: posting a series and
its occurrences, generating ahead without doubles, signing up for the whole series,
editing it (future, unstarted occurrences only) and ending it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import time_machine
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from api import extensions
from api.cli import cli
from points.calendar import LOCAL_TIME, local_date
from service.people.models import User
from service.tasks.models import Participation, Task
from tests.api.world import World

# Today at noon, Beijing time, in a fixed week: Monday 2 March 2026. Every date below is
# counted from it, and the clock is frozen there.
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=LOCAL_TIME)
TODAY = local_date(NOW)


def patrol_body(world: World, **changes: Any) -> dict[str, Any]:
    """A weekly evening patrol (安全巡逻) on Tuesdays and Thursdays, from tomorrow."""
    body: dict[str, Any] = {
        "org_id": world.ids["community_A"],
        "title": "夜间安全巡逻",
        "category": "safety",
        "type": "patrol",
        "lat": 39.9163,
        "lng": 116.4039,
        "radius_m": 500,
        "capacity": 2,
        "audience": "everyone",
        "checkin_mode": "both",
        "work_unit": "hours",
        "frequency": "weekly",
        "weekdays": [1, 3],
        "first_date": (TODAY + timedelta(days=1)).isoformat(),
        "start_time": "19:00",
        "duration_minutes": 120,
    }
    body.update(changes)
    return body


def post_series(client: FlaskClient, world: World, role: str = "staff", **changes: Any) -> Any:
    response = world.call(client, role, "POST", "/task-series", patrol_body(world, **changes))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def occurrences(app: Flask, series_id: int) -> list[Task]:
    with app.app_context():
        session = extensions.session()
        rows = list(
            session.scalars(
                select(Task).where(Task.series_id == series_id).order_by(Task.occurrence_date)
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


def parts(app: Flask, task_id: int) -> dict[int, str]:
    with app.app_context():
        rows = extensions.session().execute(
            select(Participation.user_id, Participation.status).where(
                Participation.task_id == task_id
            )
        )
        return {int(user): str(status) for user, status in rows}


def user_id(client: FlaskClient, world: World, role: str) -> int:
    me: int = world.call(client, role, "GET", "/me").get_json()["id"]
    return me


def generate(runner: FlaskCliRunner, at: datetime, horizon: int | None = None) -> str:
    args = ["tasks", "generate", "--now", at.strftime("%Y-%m-%dT%H:%M:%S%z")]
    if horizon is not None:
        args += ["--horizon-days", str(horizon)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_weekly_series_posts_its_occurrences_for_two_weeks(
    app: Flask, client: FlaskClient, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        world.refresh_token(app, "staff")
        world.refresh_token(app, "member")
        series = post_series(client, world)
        assert (series["status"], series["version"], series["weekdays"]) == ("active", 1, [1, 3])
        days = [o["occurrence_date"] for o in series["upcoming"]]
        # Tue 3, Thu 5, Tue 10, Thu 12, Mon 16 is the horizon's last day (no patrol).
        assert days == ["2026-03-03", "2026-03-05", "2026-03-10", "2026-03-12"]
        first = series["upcoming"][0]
        assert datetime.fromisoformat(first["starts_at"]) == datetime(
            2026, 3, 3, 19, 0, tzinfo=LOCAL_TIME
        )
        task = world.call(client, "member", "GET", f"/tasks/{first['id']}").get_json()
        assert (task["series_id"], task["occurrence_date"], task["status"]) == (
            series["id"],
            "2026-03-03",
            "published",
        )
        assert task["title"] == "夜间安全巡逻"
        # Members see it as a task where they live, and the series too.
        listed = world.call(client, "member", "GET", "/tasks?type=patrol").get_json()["items"]
        assert [t["id"] for t in listed] == [o["id"] for o in series["upcoming"]]
        seen = world.call(client, "member", "GET", f"/task-series/{series['id']}")
        assert seen.status_code == 200
        mine = world.call(client, "staff", "GET", "/task-series").get_json()["items"]
        assert mine[0]["id"] == series["id"]  # newest first


def test_generating_again_posts_nothing_twice(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        world.refresh_token(app, "staff")
        series = post_series(client, world, count=6)
    assert len(occurrences(app, series["id"])) == 4
    assert "posted 0 occurrence(s) of 3 active series" in generate(runner, NOW)
    later = NOW + timedelta(days=7)
    assert "posted 2 occurrence(s)" in generate(runner, later)  # Tue 17, Thu 19 come in
    assert "posted 0 occurrence(s)" in generate(runner, later)
    # Six in all, whatever the horizon: the count ends it.
    assert "posted 0 occurrence(s)" in generate(runner, later, horizon=60)
    days = [task.occurrence_date for task in occurrences(app, series["id"])]
    assert days == [date(2026, 3, d) for d in (3, 5, 10, 12, 17, 19)]


def test_a_bad_series_is_422_with_its_fields_and_posts_nothing(
    app: Flask, client: FlaskClient, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        world.refresh_token(app, "staff")
        bad = [
            ({"weekdays": []}, "weekdays"),
            ({"weekdays": [7]}, "weekdays"),
            ({"frequency": "every_n_days", "weekdays": []}, "interval_days"),
            ({"until": "2026-04-01", "count": 3}, "until"),
            ({"first_date": (TODAY - timedelta(days=1)).isoformat()}, "first_date"),
            ({"start_time": "25:00"}, "start_time"),
            ({"duration_minutes": 0}, "duration_minutes"),
            ({"frequency": "monthly"}, "frequency"),
            # The last day a date can hold: no overflow, a field error.
            ({"until": "9999-12-31"}, "until"),
            ({"first_date": "9999-12-31"}, "first_date"),
        ]
        for changes, field in bad:
            response = world.call(
                client, "staff", "POST", "/task-series", patrol_body(world, **changes)
            )
            assert response.status_code == 422, (changes, response.get_json())
            assert field in response.get_json()["errors"], (changes, response.get_json())
    with app.app_context():
        assert extensions.session().scalar(select(func.count()).select_from(Task)) == 4  # world's


def test_other_communities_and_members_may_not_manage_a_series(
    app: Flask, client: FlaskClient, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        for role in ("staff", "member", "root"):
            world.refresh_token(app, role)
        theirs = post_series(client, world, role="root", org_id=world.ids["community_B"])
        path = f"/task-series/{theirs['id']}"
        assert world.call(client, "staff", "GET", path).status_code == 404
        edit = world.call(client, "staff", "PATCH", path, {"version": 1, "title": "改名了"})
        assert (edit.status_code, edit.get_json()["code"]) == (404, "not_found")
        end = world.call(client, "staff", "POST", f"{path}/end", {"reason": "不办了"})
        assert end.status_code == 404
        listed = world.call(client, "staff", "GET", "/task-series").get_json()["items"]
        assert theirs["id"] not in [s["id"] for s in listed]
        assert {s["org_id"] for s in listed} == {world.ids["community_A"]}
        posted = world.call(
            client,
            "staff",
            "POST",
            "/task-series",
            patrol_body(world, org_id=world.ids["community_B"]),
        )
        assert posted.status_code == 404
        ours = post_series(client, world)
        mine = f"/task-series/{ours['id']}"
        # A member sees the series, but the community is beyond their grants (their
        # grid's): managing it is a 404, as for a task there.
        assert world.call(client, "member", "GET", mine).status_code == 200
        refused = world.call(client, "member", "PATCH", mine, {"version": 1, "title": "改名了"})
        assert (refused.status_code, refused.get_json()["code"]) == (404, "not_found")
        ended = world.call(client, "member", "POST", f"{mine}/end", {"reason": "不办了"})
        assert ended.status_code == 404
        # The other community's members don't see it at all.
        assert world.call(client, "member", "POST", f"{path}/signups").status_code == 404
    assert [t.title for t in occurrences(app, theirs["id"])] == ["夜间安全巡逻"] * 4


def test_signing_up_for_the_series_enrols_now_and_as_occurrences_come(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        for role in ("staff", "member", "volunteer", "resident"):
            world.refresh_token(app, role)
        member, volunteer = user_id(client, world, "member"), user_id(client, world, "volunteer")
        series = post_series(client, world, capacity=1)
        first = series["upcoming"][0]["id"]
        # The volunteer takes the first patrol's only place on their own.
        assert world.call(client, "volunteer", "POST", f"/tasks/{first}/signups").status_code == 201
        joined = world.call(client, "member", "POST", f"/task-series/{series['id']}/signups")
        assert joined.status_code == 201, joined.get_json()
        body = joined.get_json()
        assert (body["status"], body["series_id"]) == ("active", series["id"])
        assert [p["status"] for p in body["participations"]] == [
            "waitlisted",  # the full first one: its waitlist
            "signed_up",
            "signed_up",
            "signed_up",
        ]
        again = world.call(client, "member", "POST", f"/task-series/{series['id']}/signups")
        assert (again.status_code, again.get_json()["code"]) == (409, "already_in_series")
        resident = world.call(client, "resident", "POST", f"/task-series/{series['id']}/signups")
        assert (resident.status_code, resident.get_json()["code"]) == (403, "not_in_audience")
        listed = world.call(client, "member", "GET", "/me/series-signups").get_json()["items"]
        assert [s["series_id"] for s in listed] == [series["id"]]
    assert parts(app, first) == {volunteer: "signed_up", member: "waitlisted"}

    generate(runner, NOW + timedelta(days=7))
    later = occurrences(app, series["id"])[4:]
    assert [t.occurrence_date for t in later] == [date(2026, 3, 17), date(2026, 3, 19)]
    assert [parts(app, t.id) for t in later] == [{member: "signed_up"}] * 2

    # Leaving, a few days on: the parts to come are cancelled, past ones stay.
    with time_machine.travel(NOW + timedelta(days=4), tick=False):
        world.refresh_token(app, "member")
        left = world.call(client, "member", "DELETE", f"/task-series/{series['id']}/signups")
        assert left.status_code == 200, left.get_json()
        assert left.get_json()["status"] == "left"
        assert len(left.get_json()["participations"]) == 4  # 10, 12, 17, 19 March
        twice = world.call(client, "member", "DELETE", f"/task-series/{series['id']}/signups")
        assert (twice.status_code, twice.get_json()["code"]) == (409, "invalid_transition")
    statuses = [parts(app, t.id).get(member) for t in occurrences(app, series["id"])]
    assert statuses == ["waitlisted", "signed_up"] + ["cancelled"] * 4
    assert all(t.signed_up_count == 0 for t in occurrences(app, series["id"])[2:])
    generate(runner, NOW + timedelta(days=14))
    assert [parts(app, t.id) for t in occurrences(app, series["id"])[6:]] == [{}, {}]


def test_an_edit_changes_future_unstarted_occurrences_and_says_what_it_kept(
    app: Flask, client: FlaskClient, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        for role in ("staff", "member"):
            world.refresh_token(app, role)
        series = post_series(client, world)
        upcoming = [o["id"] for o in series["upcoming"]]
        world.call(client, "member", "POST", f"/tasks/{upcoming[1]}/signups")
        member = user_id(client, world, "member")
    with app.app_context():
        session = extensions.session()
        # Someone is already on the third one (checked in early, say).
        task = session.get(Task, upcoming[2])
        assert task is not None
        session.add(
            Participation(
                task_id=task.id,
                user_id=member,
                role="member",
                status="checked_in",
                checked_in_at=NOW,
            )
        )
        task.signed_up_count = 1
        session.commit()
    # On Tuesday evening: the first patrol is under way.
    during = datetime(2026, 3, 3, 19, 30, tzinfo=LOCAL_TIME)
    with time_machine.travel(during, tick=False):
        world.refresh_token(app, "staff")
        path = f"/task-series/{series['id']}"
        stale = world.call(client, "staff", "PATCH", path, {"version": 2, "title": "巡逻"})
        assert (stale.status_code, stale.get_json()["code"]) == (409, "series_changed")
        edit = {
            "version": 1,
            "title": "夜间巡逻（新路线）",
            "start_time": "19:30",
            "org_id": world.ids["grid_A"],
            "note": "改到七点半",
        }
        response = world.call(client, "staff", "PATCH", path, edit)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert (body["version"], body["title"], body["start_time"]) == (
            2,
            "夜间巡逻（新路线）",
            "19:30",
        )
        assert body["updated_occurrences"] == [upcoming[1], upcoming[3]]
        assert body["kept_occurrences"] == [
            {
                "task_id": upcoming[1],
                "occurrence_date": "2026-03-05",
                "fields": ["org_id"],
                "reason": "task_has_signups",
            },
            {
                "task_id": upcoming[2],
                "occurrence_date": "2026-03-10",
                "fields": ["org_id", "start_time", "title"],
                "reason": "task_under_way",
            },
        ]
        assert body["cancelled_occurrences"] == []
    rows = {task.id: task for task in occurrences(app, series["id"])}
    under_way, seated, checked_in, empty = (rows[i] for i in upcoming)
    assert (under_way.title, under_way.starts_at.astimezone(LOCAL_TIME).time()) == (
        "夜间安全巡逻",
        time(19, 0),
    )
    assert (seated.title, seated.place_id) == ("夜间巡逻（新路线）", world.ids["community_A"])
    assert seated.starts_at.astimezone(LOCAL_TIME).time() == time(19, 30)
    assert (checked_in.title, checked_in.version) == ("夜间安全巡逻", 1)
    assert (empty.place_id, empty.version) == (world.ids["grid_A"], 2)
    # Occurrences posted after the edit follow the new template.
    assert all(t.place_id == world.ids["grid_A"] for t in rows.values() if t.id not in upcoming)


def test_narrowing_the_days_cancels_the_dropped_occurrences(
    app: Flask, client: FlaskClient, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        world.refresh_token(app, "staff")
        series = post_series(client, world)
        response = world.call(
            client,
            "staff",
            "PATCH",
            f"/task-series/{series['id']}",
            {"version": 1, "weekdays": [1]},
        )
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["cancelled_occurrences"] == [
            series["upcoming"][1]["id"],
            series["upcoming"][3]["id"],
        ]
        assert [o["occurrence_date"] for o in body["upcoming"] if o["status"] == "published"] == [
            "2026-03-03",
            "2026-03-10",
        ]
        both = world.call(
            client, "staff", "PATCH", f"/task-series/{series['id']}", {"version": 2, "count": 0}
        )
        assert both.status_code == 422


def test_ending_a_series_cancels_what_is_to_come_and_tells_those_signed_up(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        for role in ("staff", "member"):
            world.refresh_token(app, role)
        series = post_series(client, world)
        path = f"/task-series/{series['id']}"
        world.call(client, "member", "POST", f"{path}/signups")
        short = world.call(client, "staff", "POST", f"{path}/end", {"reason": ""})
        assert short.status_code == 422
        ended = world.call(client, "staff", "POST", f"{path}/end", {"reason": "天气转冷，暂停巡逻"})
        assert ended.status_code == 200, ended.get_json()
        body = ended.get_json()
        assert (body["status"], body["end_reason"]) == ("ended", "天气转冷，暂停巡逻")
        assert body["cancelled_occurrences"] == [o["id"] for o in series["upcoming"]]
        again = world.call(client, "staff", "POST", f"{path}/end", {"reason": "再结束一次"})
        assert (again.status_code, again.get_json()["code"]) == (409, "invalid_transition")
        edit = world.call(client, "staff", "PATCH", path, {"version": 1, "title": "改名了"})
        assert (edit.status_code, edit.get_json()["code"]) == (409, "series_ended")
        join = world.call(client, "member", "POST", f"{path}/signups")
        assert join.status_code in (409,)
        told = world.call(client, "member", "GET", "/me/notifications").get_json()["items"]
        assert sum(n["kind"] == "task.cancelled" for n in told) == 4
    assert {t.status for t in occurrences(app, series["id"])} == {"cancelled"}
    assert {t.cancel_reason for t in occurrences(app, series["id"])} == {"天气转冷，暂停巡逻"}
    report = generate(runner, NOW + timedelta(days=7))
    assert "posted 0 occurrence(s) of 2 active series" in report  # the world's, not posted yet


def test_the_worker_posts_the_occurrences_due(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        world.refresh_token(app, "staff")
        series = post_series(client, world)
    with time_machine.travel(NOW + timedelta(days=7), tick=False):
        result = runner.invoke(cli, ["worker", "--once"])
        assert result.exit_code == 0, result.output
    days = [task.occurrence_date for task in occurrences(app, series["id"])]
    assert days[-2:] == [date(2026, 3, 17), date(2026, 3, 19)]


def test_a_smaller_capacity_spares_the_occurrences_with_more_seats_taken(
    app: Flask, client: FlaskClient, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        for role in ("staff", "member", "volunteer"):
            world.refresh_token(app, role)
        series = post_series(client, world, capacity=3)
        first, second = (o["id"] for o in series["upcoming"][:2])
        for role in ("member", "volunteer"):
            assert world.call(client, role, "POST", f"/tasks/{first}/signups").status_code == 201
        assert world.call(client, "member", "POST", f"/tasks/{second}/signups").status_code == 201
        response = world.call(
            client, "staff", "PATCH", f"/task-series/{series['id']}", {"version": 1, "capacity": 1}
        )
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["kept_occurrences"] == [
            {
                "task_id": first,
                "occurrence_date": "2026-03-03",
                "fields": ["capacity"],
                "reason": "capacity_below_signups",
            }
        ]
        assert body["updated_occurrences"] == [o["id"] for o in series["upcoming"][1:]]
    capacities = [task.capacity for task in occurrences(app, series["id"])]
    assert capacities == [3, 1, 1, 1]


def test_a_disabled_member_of_a_series_takes_no_more_places(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        for role in ("staff", "member"):
            world.refresh_token(app, role)
        member = user_id(client, world, "member")
        series = post_series(client, world)
        joined = world.call(client, "member", "POST", f"/task-series/{series['id']}/signups")
        assert joined.status_code == 201, joined.get_json()
    with app.app_context():
        session = extensions.session()
        account = session.get(User, member)
        assert account is not None
        account.active = False
        session.commit()
    generate(runner, NOW + timedelta(days=7))
    later = occurrences(app, series["id"])[4:]
    assert len(later) == 2
    assert [parts(app, t.id) for t in later] == [{}, {}]
    assert all(t.signed_up_count == 0 for t in later)
