"""Tasks through HTTP: lifecycle, validation, who sees what, filters and order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from api import extensions
from points.places import PlaceLevel
from service.db import utcnow
from service.organisation.models import Branch
from service.people.models import User
from service.places.models import Place
from service.places.tree import add_place
from service.tasks.models import Participation, Task
from tests.api.test_access_matrix import days_from_today, new_task_body
from tests.api.world import World, demo_task


def post_task(client: FlaskClient, world: World, role: str = "staff", **changes: Any) -> Any:
    body = {**new_task_body(world.ids["community_A"]), **changes}
    return world.call(client, role, "POST", "/tasks", body)


def task_count(app: Flask) -> int:
    with app.app_context():
        return extensions.session().scalar(select(func.count()).select_from(Task)) or 0


def user_id(world: World, role: str) -> int:
    user: int = jwt.decode(world.tokens[role], options={"verify_signature": False})["sub"]
    return int(user)


def visible_ids(client: FlaskClient, world: World, role: str, query: str = "") -> list[int]:
    response = world.call(client, role, "GET", f"/tasks?limit=100{query}")
    assert response.status_code == 200, response.get_json()
    return [task["id"] for task in response.get_json()["items"]]


def test_a_task_from_draft_to_closed(client: FlaskClient, world: World) -> None:
    created = post_task(client, world, title="楼道清理")
    assert created.status_code == 201
    task = created.get_json()
    assert (task["status"], task["signed_up_count"], task["org_id"]) == (
        "draft",
        0,
        world.ids["community_A"],
    )
    assert task["id"] not in visible_ids(client, world, "member")
    assert world.call(client, "member", "GET", f"/tasks/{task['id']}").status_code == 404

    published = world.call(client, "staff", "POST", f"/tasks/{task['id']}/publish")
    assert published.get_json()["status"] == "published"
    assert task["id"] in visible_ids(client, world, "member")
    again = world.call(client, "staff", "POST", f"/tasks/{task['id']}/publish")
    assert again.status_code == 409
    assert again.get_json()["code"] == "invalid_transition"

    closed = world.call(client, "staff", "POST", f"/tasks/{task['id']}/close")
    assert closed.get_json()["status"] == "closed"
    cancel = world.call(client, "staff", "POST", f"/tasks/{task['id']}/cancel", {"reason": "晚了"})
    assert cancel.status_code == 409


def test_publishing_at_creation_and_cancelling_with_a_reason(
    client: FlaskClient, world: World
) -> None:
    task = post_task(client, world, publish=True).get_json()
    assert task["status"] == "published"
    no_reason = world.call(client, "staff", "POST", f"/tasks/{task['id']}/cancel", {})
    assert no_reason.status_code == 422
    cancelled = world.call(
        client, "staff", "POST", f"/tasks/{task['id']}/cancel", {"reason": "暴雨红色预警"}
    )
    assert cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["cancel_reason"] == "暴雨红色预警"


@pytest.mark.parametrize(
    "changes",
    [
        {"ends_at": (utcnow() + timedelta(days=6)).isoformat()},  # before it starts
        {
            "starts_at": (utcnow() - timedelta(days=3)).isoformat(),
            "ends_at": (utcnow() - timedelta(days=2)).isoformat(),
        },  # over already
        {"starts_at": "2027-01-01T09:00:00"},  # no offset: whose nine o'clock?
        {"lat": 91},
        {"radius_m": 0},
        {"capacity": 0},
        {"category": "sports"},
        {"type": "dancing"},
        {"checkin_mode": "telepathy"},
        {"org_id": 999999},
        {"title": ""},
    ],
)
def test_bad_tasks_are_refused_and_nothing_is_created(
    app: Flask, client: FlaskClient, world: World, changes: dict[str, Any]
) -> None:
    before = task_count(app)
    response = post_task(client, world, **changes)
    assert response.status_code in (404, 422)
    assert response.get_json()["code"] in ("validation_error", "invalid_input", "not_found")
    assert task_count(app) == before


def test_members_see_their_community_and_the_street_above_not_the_other_community(
    client: FlaskClient, world: World
) -> None:
    street_task = post_task(client, world, "root", org_id=world.ids["street"], publish=True)
    seen = visible_ids(client, world, "member")
    assert world.ids["published_task_A"] in seen
    assert street_task.get_json()["id"] in seen
    assert world.ids["published_task_B"] not in seen
    everything = visible_ids(client, world, "root")
    assert {world.ids["draft_task_A"], world.ids["draft_task_B"]} <= set(everything)


@pytest.mark.parametrize("branch_of", ["department", "community_B"])
def test_a_members_branch_opens_the_same_communities_to_the_list_the_detail_and_sign_up(
    app: Flask, client: FlaskClient, world: World, branch_of: str
) -> None:
    """双报到: the member lives in community A. A department's branch brings the
    communities its department is paired with (the world pairs it with B); a
    community's branch brings its own community (B). Either way B's tasks are theirs
    to find, open and sign up for, and B is theirs to report problems in; a community
    neither brings (C) stays out of sight everywhere."""
    with app.app_context():
        session = extensions.session()
        street = session.get(Place, world.ids["street"])
        community_c = add_place(session, street, "社区C", PlaceLevel.COMMUNITY)
        elsewhere = Task(
            **demo_task(community_c.id), status="published", created_by_id=world.ids["person_A"]
        )
        owner = (
            {"department_id": world.ids["department"]}
            if branch_of == "department"
            else {"place_id": world.ids["community_B"]}
        )
        branch = Branch(name="支部二", **owner)
        session.add_all([elsewhere, branch])
        session.flush()
        member = session.get(User, user_id(world, "member"))
        assert member is not None
        member.home_branch_id = branch.id
        session.commit()
        community_c_id, elsewhere_id = community_c.id, elsewhere.id
    paired = world.ids["published_task_B"]

    seen = visible_ids(client, world, "member")
    assert paired in seen
    assert elsewhere_id not in seen
    assert world.call(client, "member", "GET", f"/tasks/{paired}").status_code == 200
    assert world.call(client, "member", "GET", f"/tasks/{elsewhere_id}").status_code == 404
    signed = world.call(client, "member", "POST", f"/tasks/{paired}/signups")
    assert signed.status_code == 201, signed.get_json()
    refused = world.call(client, "member", "POST", f"/tasks/{elsewhere_id}/signups")
    assert (refused.status_code, refused.get_json()["code"]) == (404, "not_found")
    demand = {"category": "facility", "description": "路灯不亮"}
    there = world.call(
        client, "member", "POST", "/demands", {**demand, "org_id": world.ids["community_B"]}
    )
    assert there.status_code == 201, there.get_json()
    not_there = world.call(
        client, "member", "POST", "/demands", {**demand, "org_id": community_c_id}
    )
    assert (not_there.status_code, not_there.get_json()["code"]) == (404, "not_found")


def test_a_pairing_opens_its_community_from_its_first_day_to_its_last(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """A pairing is dated (结对 from a day, ended on a day): a department's member
    finds the community's tasks while today lies between the two, and only then."""
    with app.app_context():
        session = extensions.session()
        street = session.get(Place, world.ids["street"])
        later, done = (add_place(session, street, name, PlaceLevel.COMMUNITY) for name in "CD")
        branch = Branch(name="民政局机关支部", department_id=world.ids["department"])
        session.add(branch)
        session.flush()
        tasks = {
            place.name: Task(
                **demo_task(place.id), status="published", created_by_id=world.ids["person_A"]
            )
            for place in (later, done)
        }
        session.add_all(tasks.values())
        member = session.get(User, user_id(world, "member"))
        assert member is not None
        member.home_branch_id = branch.id
        session.commit()
        starts_later, ended = tasks[later.name].id, tasks[done.name].id
        later_id, done_id = later.id, done.id

    def pair(place_id: int, started_on: str) -> int:
        body = {"department_id": world.ids["department"], "place_id": place_id}
        paired = world.call(client, "root", "POST", "/pairings", {**body, "started_on": started_on})
        assert paired.status_code == 201, paired.get_json()
        pairing: int = paired.get_json()["id"]
        return pairing

    def end(pairing: int, ended_on: str) -> None:
        path = f"/pairings/{pairing}/end"
        ended = world.call(client, "root", "POST", path, {"ended_on": ended_on})
        assert ended.status_code == 200, ended.get_json()

    pair(later_id, days_from_today(30))
    end(pair(done_id, days_from_today(-60)), days_from_today(-1))
    end(world.ids["pairing_B"], days_from_today(0))  # today is its last day
    seen = visible_ids(client, world, "member")
    demand = {"category": "facility", "description": "路灯不亮"}

    def found(task: int, place: int) -> tuple[bool, int, int]:
        """In the list, the task's detail, and a problem report there."""
        detail = world.call(client, "member", "GET", f"/tasks/{task}")
        reported = world.call(client, "member", "POST", "/demands", {**demand, "org_id": place})
        return task in seen, detail.status_code, reported.status_code

    assert {
        "ends today": found(world.ids["published_task_B"], world.ids["community_B"]),
        "starts in 30 days": found(starts_later, later_id),
        "ended yesterday": found(ended, done_id),
    } == {
        "ends today": (True, 200, 201),
        "starts in 30 days": (False, 404, 404),
        "ended yesterday": (False, 404, 404),
    }


def test_filters_nearest_first_and_pages(client: FlaskClient, world: World) -> None:
    far = post_task(
        client,
        world,
        publish=True,
        title="远处",
        lat=39.99,
        lng=116.50,
        type="patrol",
        category="safety",
        work_unit="hours",
    ).get_json()
    near = post_task(
        client,
        world,
        publish=True,
        title="近处",
        lat=39.9001,
        lng=116.4001,
        type="cleanup",
        category="environment",
        work_unit="hours",
    ).get_json()
    order = visible_ids(client, world, "member", "&near=39.9,116.4")
    assert (
        order.index(near["id"])
        < order.index(world.ids["published_task_A"])
        < order.index(far["id"])
    )
    assert visible_ids(client, world, "member", "&type=patrol") == [far["id"]]
    assert visible_ids(client, world, "member", "&category=environment") == [near["id"]]
    first = world.call(client, "member", "GET", "/tasks?limit=1").get_json()
    second = world.call(client, "member", "GET", f"/tasks?limit=1&cursor={first['next_cursor']}")
    assert first["items"][0]["id"] != second.get_json()["items"][0]["id"]
    for bad in ("&near=39.9", "&near=north,east", "&near=95,116", "&status=lost", "&from=today"):
        assert world.call(client, "member", "GET", f"/tasks?x=1{bad}").status_code == 422


def test_cancelling_a_task_closes_the_part_of_everyone_still_taking_part(
    app: Flask, client: FlaskClient, world: World
) -> None:
    with app.app_context():
        session = extensions.session()
        task = Task(
            **demo_task(world.ids["community_A"]),
            status="published",
            created_by_id=world.ids["person_A"],
        )
        session.add(task)
        session.flush()
        states = ["signed_up", "checked_in", "checked_out", "submitted", "approved", "rejected"]
        people = [
            User(name=f"参与者{index}", residence_place_id=world.ids["grid_A"])
            for index in range(len(states))
        ]
        session.add_all(people)
        session.flush()
        session.add_all(
            Participation(task_id=task.id, user_id=person.id, role="member", status=state)
            for person, state in zip(people, states, strict=True)
        )
        session.commit()
        task_id = task.id

    cancelled = world.call(
        client, "staff", "POST", f"/tasks/{task_id}/cancel", {"reason": "暴雨预警，活动取消"}
    )
    assert cancelled.status_code == 200
    with app.app_context():
        after = dict(
            extensions.session()
            .execute(
                select(User.name, Participation.status)
                .join(User, User.id == Participation.user_id)
                .where(Participation.task_id == task_id)
            )
            .all()
        )
    assert after == {
        "参与者0": "cancelled",
        "参与者1": "cancelled",
        "参与者2": "cancelled",
        "参与者3": "cancelled",
        "参与者4": "approved",  # finished work keeps its outcome and its points
        "参与者5": "rejected",
    }
