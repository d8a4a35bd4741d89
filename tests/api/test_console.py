"""The console's edges without a browser: its session cookie and headers, the CSRF
check on sign-in and on every form, idle sessions ending, sign-out, the one password
policy shared with the JSON sign-in, and Chinese error pages beside the API's JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from api import extensions
from api.console.clock import CLOCK
from points.access import Role, ScopeType
from service.auth.models import ConsoleSession
from service.auth.passwords import hash_password
from service.db import utcnow
from service.people.directory import ensure_grant
from service.people.models import User
from service.rules.models import RuleSetVersion
from service.tasks.models import Participation, Task
from tests.api.world import World
from tests.conftest import AppFactory

PASSWORD = "correct horse battery"
HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def staff(app: Flask, world: World) -> str:
    with app.app_context():
        session = extensions.session()
        user = session.scalars(select(User).where(User.name == "staff")).one()
        user.username, user.password_hash = "staff-a", hash_password(PASSWORD)
        session.commit()
    return "staff-a"


@pytest.fixture
def moved_clock(app: Flask) -> Iterator[list[timedelta]]:
    offset = [timedelta()]
    app.extensions[CLOCK] = lambda: utcnow() + offset[0]
    yield offset
    app.extensions.pop(CLOCK, None)


def csrf_of(page: bytes) -> str:
    found = HIDDEN.search(page.decode())
    assert found is not None
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> FlaskClient:
    form = client.get("/console/sign-in")
    return client.post(  # type: ignore[return-value]
        "/console/sign-in",
        data={"csrf_token": csrf_of(form.data), "username": username, "password": password},
    )


def sessions(app: Flask) -> int:
    with app.app_context():
        return extensions.session().scalar(select(func.count()).select_from(ConsoleSession)) or 0


def test_signing_in_sets_an_httponly_lax_cookie_and_stores_only_the_tokens_hash(
    app: Flask, client: FlaskClient, staff: str
) -> None:
    response = sign_in(client, staff)
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "lianxin_console=" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # a test app is not production; see the next test
    token = cookie.split("lianxin_console=", 1)[1].split(";", 1)[0]
    with app.app_context():
        stored = extensions.session().scalars(select(ConsoleSession.id)).all()
    assert len(stored) == 1
    assert token not in stored
    assert client.get("/console/").status_code == 200


def test_a_secure_setting_makes_the_cookie_secure(
    make_app: AppFactory, staff: str, fresh_state: None
) -> None:
    client = make_app(console_cookie_secure=True).test_client()
    response = sign_in(client, staff)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "lianxin_console=" in c)
    assert "Secure" in cookie


def test_console_pages_forbid_inline_script_and_framing(client: FlaskClient) -> None:
    response = client.get("/console/sign-in")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script at all
    # The API's responses are as they were.
    assert "Content-Security-Policy" not in client.get("/healthz").headers


def test_signing_in_without_the_forms_token_is_refused_and_opens_nothing(
    app: Flask, client: FlaskClient, staff: str
) -> None:
    response = client.post("/console/sign-in", data={"username": staff, "password": PASSWORD})
    assert response.status_code == 400
    assert "请求无效" in response.get_data(as_text=True)
    assert sessions(app) == 0


def test_a_wrong_password_counts_toward_the_same_lockout_as_the_json_sign_in(
    client: FlaskClient, staff: str
) -> None:
    for _ in range(5):
        assert sign_in(client, staff, "wrong guess").status_code == 401
    locked = sign_in(client, staff)
    assert locked.status_code == 429
    assert "锁定" in locked.get_data(as_text=True)
    refused = client.post("/api/v1/auth/password", json={"username": staff, "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "account_locked"


def test_a_session_idle_too_long_ends_and_its_row_goes(
    app: Flask, client: FlaskClient, staff: str, moved_clock: list[timedelta]
) -> None:
    sign_in(client, staff)
    moved_clock[0] = timedelta(minutes=29)
    assert client.get("/console/").status_code == 200  # and moves last seen on
    moved_clock[0] = timedelta(minutes=58)
    assert client.get("/console/").status_code == 200
    moved_clock[0] = timedelta(minutes=89)
    response = client.get("/console/approvals")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/sign-in?next=/console/approvals")
    assert sessions(app) == 0


def test_a_sign_in_clears_the_sessions_left_idle(
    app: Flask, staff: str, moved_clock: list[timedelta]
) -> None:
    sign_in(app.test_client(), staff)
    moved_clock[0] = timedelta(minutes=20)
    sign_in(app.test_client(), staff)
    assert sessions(app) == 2
    moved_clock[0] = timedelta(minutes=45)  # the first idle 45 minutes, the second 25
    sign_in(app.test_client(), staff)
    assert sessions(app) == 2


def test_signing_out_deletes_the_session(app: Flask, client: FlaskClient, staff: str) -> None:
    sign_in(client, staff)
    token = csrf_of(client.get("/console/").data)
    assert client.post("/console/sign-out", data={"csrf_token": token}).status_code == 302
    assert sessions(app) == 0
    assert client.get("/console/").status_code == 302


def test_signing_out_without_the_token_is_refused(
    app: Flask, client: FlaskClient, staff: str
) -> None:
    sign_in(client, staff)
    assert client.post("/console/sign-out").status_code == 400
    assert sessions(app) == 1


def test_a_disabled_account_is_signed_out_at_its_next_request(
    app: Flask, client: FlaskClient, staff: str
) -> None:
    sign_in(client, staff)
    with app.app_context():
        session = extensions.session()
        session.scalars(select(User).where(User.username == staff)).one().active = False
        session.commit()
    assert client.get("/console/").status_code == 302


def test_after_sign_in_only_a_console_path_is_a_destination(
    client: FlaskClient, staff: str
) -> None:
    form = client.get("/console/sign-in")
    response = client.post(
        "/console/sign-in?next=https://evil.example/console",
        data={"csrf_token": csrf_of(form.data), "username": staff, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/console/"


@pytest.mark.parametrize("path", ["/console/nowhere", "/console/tasks/999999999"])
def test_the_console_answers_404_with_its_own_page_and_the_api_stays_json(
    client: FlaskClient, staff: str, path: str
) -> None:
    sign_in(client, staff)
    page = client.get(path)
    assert page.status_code == 404
    assert page.content_type.startswith("text/html")
    assert "页面不存在" in page.get_data(as_text=True)
    assert client.get("/api/v1/nowhere").get_json()["code"] == "not_found"


@pytest.fixture
def staff_b(app: Flask, world: World) -> str:
    with app.app_context():
        session = extensions.session()
        other = User(name="社区B工作者", username="staff-b", password_hash=hash_password(PASSWORD))
        session.add(other)
        session.flush()
        ensure_grant(session, other, Role.STAFF, ScopeType.PLACE, world.ids["community_B"])
        session.commit()
    return "staff-b"


@pytest.fixture
def published_rules(app: Flask, world: World) -> None:
    """Community A's rules in force, so approving there pays."""
    with app.app_context():
        session = extensions.session()
        rules = session.get(RuleSetVersion, world.ids["rules_A"])
        assert rules is not None
        rules.status, rules.published_at = "published", utcnow()
        session.commit()


def form_token(client: FlaskClient) -> str:
    return csrf_of(client.get("/console/").data)


def task_status(app: Flask, task_id: int) -> str:
    with app.app_context():
        task = extensions.session().get(Task, task_id)
        assert task is not None
        return task.status


def participation_status(app: Flask, participation_id: int) -> str:
    with app.app_context():
        participation = extensions.session().get(Participation, participation_id)
        assert participation is not None
        return participation.status


def test_staff_of_another_community_can_neither_publish_nor_decide_by_posting(
    app: Flask, client: FlaskClient, world: World, staff_b: str
) -> None:
    sign_in(client, staff_b)
    token = form_token(client)
    task, work = world.ids["draft_task_A"], world.ids["participation_A"]
    for path in (
        f"/console/tasks/{task}/publish",
        f"/console/approvals/{work}/approve",
        f"/console/approvals/{work}/reject",
    ):
        response = client.post(path, data={"csrf_token": token, "reason": "不合格的材料"})
        assert response.status_code == 404, path
        assert "页面不存在" in response.get_data(as_text=True)
    assert task_status(app, task) == "draft"
    assert participation_status(app, work) == "submitted"


def test_rejecting_needs_a_reason_and_then_rejects(
    app: Flask, client: FlaskClient, world: World, staff: str
) -> None:
    sign_in(client, staff)
    token, work = form_token(client), world.ids["participation_A"]
    refused = client.post(f"/console/approvals/{work}/reject", data={"csrf_token": token})
    assert refused.status_code == 422
    assert participation_status(app, work) == "submitted"
    done = client.post(
        f"/console/approvals/{work}/reject", data={"csrf_token": token, "reason": "照片不清楚"}
    )
    assert done.status_code == 302
    assert participation_status(app, work) == "rejected"


@pytest.mark.usefixtures("published_rules")
def test_approving_the_ticked_ones_approves_each_and_says_so(
    app: Flask, client: FlaskClient, world: World, staff: str
) -> None:
    sign_in(client, staff)
    work = world.ids["participation_A"]
    response = client.post(
        "/console/approvals/bulk",
        data={"csrf_token": form_token(client), "participation_id": [str(work)]},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert f"#{work}：已通过" in response.get_data(as_text=True)
    assert participation_status(app, work) == "approved"


def test_a_task_form_with_bad_fields_says_so_beside_them_and_posts_nothing(
    app: Flask, client: FlaskClient, world: World, staff: str
) -> None:
    sign_in(client, staff)
    with app.app_context():
        before = extensions.session().scalar(select(func.count()).select_from(Task))
    response = client.post(
        "/console/tasks/new",
        data={
            "csrf_token": form_token(client),
            "title": "x",
            "org_id": str(world.ids["community_A"]),
            "capacity": "很多",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="title-error">长度不符合要求<' in page
    assert 'id="capacity-error">请填写整数<' in page
    assert 'id="lat-error">必填<' in page
    assert 'id="address-error"' not in page
    with app.app_context():
        assert extensions.session().scalar(select(func.count()).select_from(Task)) == before


def test_sign_in_attempts_from_one_address_are_limited_as_the_json_sign_in(
    make_app: AppFactory,
) -> None:
    """Spraying one password over many usernames from one address meets the per-address
    sign-in limit (the page and the form both count)."""
    client = make_app(sign_in_rate_limit="4 per minute").test_client()
    answers = [sign_in(client, f"nobody-{n}", "guess").status_code for n in range(2)]
    assert answers == [401, 401]
    page = client.get("/console/sign-in")
    assert page.status_code == 429
    assert "频繁" in page.get_data(as_text=True)
