"""GET /leaderboards/{currency}: ranks, the caller's standing, hidden people, access,
bad input, and the stale answer from SQL while a board is missing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api import extensions
from points.ledger import TransferKind
from service.db import utcnow
from service.leaderboards.rebuild import sync
from service.organisation.models import Branch
from service.people.models import User
from tests.api.world import World
from tests.ledger_helpers import credit


def board(client: FlaskClient, world: World, role: str, query: str) -> Any:
    response = world.call(client, role, "GET", f"/leaderboards/jifen?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def swept(app: Flask) -> None:
    with app.app_context():
        sync(extensions.session(), extensions.leaderboards(), now=utcnow())


def user_id(world: World, role: str) -> int:
    import jwt

    return int(jwt.decode(world.tokens[role], options={"verify_signature": False})["sub"])


@pytest.fixture
def earners(app: Flask, world: World) -> dict[str, int]:
    """In community A: the member earned 30, the volunteer 20 (ties person A's 20),
    the resident 5 — and spent nothing that counts."""
    ids = {role: user_id(world, role) for role in ("member", "volunteer", "resident")}
    with app.app_context():
        session = extensions.session()
        credit(session, ids["member"], "jifen", 30)
        credit(session, ids["volunteer"], "jifen", 20, kind=TransferKind.AWARD)
        credit(session, ids["resident"], "jifen", 5)
    swept(app)
    return ids


def test_top_me_and_around_with_competition_ranks(
    client: FlaskClient, world: World, earners: dict[str, int]
) -> None:
    community = world.ids["community_A"]
    answer = board(client, world, "resident", f"scope=org:{community}&period=week&around=me")
    person_a = world.ids["person_A"]
    first, second = sorted([earners["volunteer"], person_a])
    assert answer["stale"] is False
    assert [(i["rank"], i["user_id"], i["score"]) for i in answer["items"]] == [
        (1, earners["member"], 30),
        (2, first, 20),
        (2, second, 20),  # a tie shares the rank; the lower user id is listed first
        (4, earners["resident"], 5),
    ]
    assert answer["items"][0]["name"] == "member"
    assert answer["me"] == {"rank": 4, "score": 5}
    assert [i["user_id"] for i in answer["around"]] == [
        earners["member"],
        first,
        second,
        earners["resident"],
    ]
    limited = board(client, world, "resident", f"scope=org:{community}&limit=2")
    assert [i["rank"] for i in limited["items"]] == [1, 2]
    assert limited["around"] == []


def test_hidden_people_leave_no_gap(
    app: Flask, client: FlaskClient, world: World, earners: dict[str, int]
) -> None:
    scope = f"scope=org:{world.ids['community_A']}"
    hidden = world.call(client, "member", "PATCH", "/me", {"hide_from_leaderboards": True})
    assert hidden.status_code == 200
    assert hidden.get_json()["hide_from_leaderboards"] is True
    answer = board(client, world, "member", scope)
    assert answer["me"] is None
    assert [i["rank"] for i in answer["items"]] == [1, 1, 3]
    assert earners["member"] not in [i["user_id"] for i in answer["items"]]

    person_a = world.ids["person_A"]
    banned = world.call(
        client, "staff", "PATCH", f"/users/{person_a}", {"leaderboard_banned": True}
    )
    assert banned.status_code == 200, banned.get_json()
    assert [(i["rank"], i["user_id"]) for i in board(client, world, "member", scope)["items"]] == [
        (1, earners["volunteer"]),
        (2, earners["resident"]),
    ]
    # Shown again: back with the right score, from the ledger.
    world.call(client, "member", "PATCH", "/me", {"hide_from_leaderboards": False})
    world.call(client, "staff", "PATCH", f"/users/{person_a}", {"leaderboard_banned": False})
    answer = board(client, world, "member", scope)
    assert answer["stale"] is False
    assert [i["score"] for i in answer["items"]] == [30, 20, 20, 5]
    # The same answer as a rebuild from the ledger would give.
    with app.app_context():
        redis_client = extensions.redis_client()
        for key in redis_client.scan_iter(match=f"{extensions.settings().redis_prefix}lb:*"):
            redis_client.delete(key)
    assert board(client, world, "member", scope)["items"] == answer["items"]


def test_a_missing_board_is_answered_from_sql_marked_stale(
    app: Flask, client: FlaskClient, world: World, earners: dict[str, int]
) -> None:
    scope = f"scope=org:{world.ids['street']}&period=month&around=me"
    live = board(client, world, "member", scope)
    with app.app_context():
        redis_client = extensions.redis_client()
        for key in redis_client.scan_iter(match=f"{extensions.settings().redis_prefix}lb:*"):
            redis_client.delete(key)
    stale = board(client, world, "member", scope)
    assert stale["stale"] is True
    assert {k: v for k, v in stale.items() if k != "stale"} == {
        k: v for k, v in live.items() if k != "stale"
    }
    assert live["items"][0] == {
        "rank": 1,
        "user_id": earners["member"],
        "name": "member",
        "score": 30,
    }


def test_branch_and_department_boards(app: Flask, client: FlaskClient, world: World) -> None:
    member = user_id(world, "member")
    with app.app_context():
        session = extensions.session()
        branch = Branch(name="机关支部", department_id=world.ids["department"])
        session.add(branch)
        session.flush()
        user = session.get(User, member)
        assert user is not None
        user.home_branch_id = branch.id
        session.commit()
        branch_id = branch.id
        credit(session, member, "jifen", 12)
    swept(app)
    for scope in (f"branch:{branch_id}", f"dept:{world.ids['department']}"):
        answer = board(client, world, "member", f"scope={scope}")
        assert [(i["user_id"], i["score"]) for i in answer["items"]] == [(member, 12)]
        assert answer["me"] == {"rank": 1, "score": 12}
    # Not the volunteer's branch, nor a scope of theirs: it doesn't exist for them.
    other = world.call(client, "volunteer", "GET", f"/leaderboards/jifen?scope=branch:{branch_id}")
    assert other.status_code == 404
    # The department's officer sees its boards.
    officer = world.call(
        client, "dept_officer", "GET", f"/leaderboards/jifen?scope=branch:{branch_id}"
    )
    assert officer.status_code == 200


def test_boards_follow_where_members_live_and_their_branch_not_pairings(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """Both live in community A. The member's branch is the department's, which the
    world pairs with A and B; the volunteer's is community B's own branch. Each counts
    on A's boards and on their branch's (and department's), and on no board of B:
    neither the pairing nor the branch's place puts them there, or lets them read it."""
    member, volunteer = user_id(world, "member"), user_id(world, "volunteer")
    with app.app_context():
        session = extensions.session()
        department_branch = Branch(name="机关支部", department_id=world.ids["department"])
        session.add(department_branch)
        session.flush()
        community_branch = session.scalars(
            select(Branch).where(Branch.place_id == world.ids["community_B"])
        ).one()
        for someone, branch in ((member, department_branch), (volunteer, community_branch)):
            user = session.get(User, someone)
            assert user is not None
            user.home_branch_id = branch.id
        session.commit()
        branches = {"department": department_branch.id, "community_B": community_branch.id}
        credit(session, member, "jifen", 12)
        credit(session, volunteer, "jifen", 7)
    swept(app)

    def ranked(scope: str) -> tuple[bool, list[tuple[int, int]]]:
        """Whether the answer came from SQL, and our two on the board (as root sees it)."""
        answer = board(client, world, "root", f"scope={scope}")
        ours = (member, volunteer)
        return answer["stale"], [
            (i["user_id"], i["score"]) for i in answer["items"] if i["user_id"] in ours
        ]

    expected = {
        f"org:{world.ids['community_A']}": [(member, 12), (volunteer, 7)],
        f"org:{world.ids['street']}": [(member, 12), (volunteer, 7)],
        f"branch:{branches['department']}": [(member, 12)],
        f"dept:{world.ids['department']}": [(member, 12)],
        f"branch:{branches['community_B']}": [(volunteer, 7)],
        f"org:{world.ids['community_B']}": [],
        f"org:{world.ids['grid_B']}": [],
    }
    assert {scope: ranked(scope) for scope in expected} == {
        scope: (False, rows) for scope, rows in expected.items()
    }
    # SQL, answering while the boards are missing from Redis, reads the same rule.
    with app.app_context():
        redis_client = extensions.redis_client()
        for key in redis_client.scan_iter(match=f"{extensions.settings().redis_prefix}lb:*"):
            redis_client.delete(key)
    assert {scope: ranked(scope) for scope in expected} == {
        scope: (True, rows) for scope, rows in expected.items()
    }
    for role in ("member", "volunteer"):
        path = f"/leaderboards/jifen?scope=org:{world.ids['community_B']}"
        refused = world.call(client, role, "GET", path)
        assert (refused.status_code, refused.get_json()["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/leaderboards/jifen", 422, "validation_error"),
        ("/leaderboards/jifen?scope=org:x", 422, "validation_error"),
        ("/leaderboards/jifen?scope=place:1", 422, "validation_error"),
        ("/leaderboards/jifen?scope=org:1&period=decade", 422, "validation_error"),
        ("/leaderboards/jifen?scope=org:1&limit=0", 422, "validation_error"),
        ("/leaderboards/jifen?scope=org:1&limit=101", 422, "validation_error"),
        ("/leaderboards/jifen?scope=org:1&around=you", 422, "validation_error"),
        ("/leaderboards/gold?scope=org:1", 404, "not_found"),
        ("/leaderboards/jifen?scope=org:999999", 404, "not_found"),
        ("/leaderboards/jifen?scope=dept:999999", 404, "not_found"),
    ],
)
def test_bad_requests(client: FlaskClient, world: World, path: str, status: int, code: str) -> None:
    response = world.call(client, "member", "GET", path)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["code"] == code
