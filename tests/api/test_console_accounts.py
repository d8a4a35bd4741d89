"""Console accounts for real people: `lianxin people set-password` at the terminal, an
admin giving a staff member or clerk of their scope a temporary password, changing
one's own, and the demo world's console usernames."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from api import extensions
from api.cli import cli
from points.access import Role, ScopeType
from points.errors import Forbidden, InvalidInput, NotFound
from service.access import load_actor
from service.audit.models import AuditEntry
from service.auth.console_accounts import (
    NoConsoleRole,
    UsernameTaken,
    change_own_password,
    console_people,
    give_console_account,
)
from service.auth.sign_in import check_password
from service.config import Environment
from service.db import utcnow
from service.demo.cast import DEMO_CONSOLE_PASSWORD
from service.people.directory import ensure_grant
from service.people.models import User
from tests.api.world import World

TEMPORARY = "temporary password 1"


def user_id(app: Flask, name: str) -> int:
    with app.app_context():
        return extensions.session().scalars(select(User.id).where(User.name == name)).one()


def signs_in(app: Flask, username: str, password: str) -> bool:
    with app.app_context():
        uow = extensions.unit_of_work()
        try:
            with uow:
                check_password(uow, username, password, utcnow())
        except Exception:  # refused, whichever way
            return False
        return True


def audit(app: Flask, user: int) -> list[AuditEntry]:
    with app.app_context():
        return list(
            extensions.session().scalars(
                select(AuditEntry)
                .where(AuditEntry.object_type == "user", AuditEntry.object_id == user)
                .order_by(AuditEntry.id)
            )
        )


def test_set_password_by_id_or_phone_is_kept_and_audited(
    app: Flask, runner: FlaskCliRunner, world: World
) -> None:
    clerk = user_id(app, "clerk")
    with app.app_context():
        sealed = extensions.phone_vault().seal("13800138000")
        person = extensions.session().get(User, clerk)
        assert person is not None
        person.phone_ciphertext, person.phone_hash = sealed.ciphertext, sealed.lookup_hash
        extensions.session().commit()
    args = ["people", "set-password", "--user", str(clerk), "--username", "gaoxue"]
    result = runner.invoke(cli, [*args, "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "signs in to the console as gaoxue" in result.output
    assert signs_in(app, "gaoxue", "a long enough password")
    with app.app_context():
        person = extensions.session().get(User, clerk)
        assert person is not None
        assert person.password_must_change is False  # the operator's is kept
    [entry] = audit(app, clerk)
    assert (entry.action, entry.actor_id) == ("person.console_account", None)
    assert entry.after == {"username": "gaoxue", "temporary": False}

    by_phone = ["people", "set-password", "--phone", "138 0013 8000", "--username", "gx2"]
    result = runner.invoke(cli, by_phone, input="another long password\nanother long password\n")
    assert result.exit_code == 0, result.output
    assert signs_in(app, "gx2", "another long password")
    assert not signs_in(app, "gaoxue", "a long enough password")


@pytest.mark.parametrize(
    ("args", "typed", "says"),
    [
        (["--username", "x1x"], "a long enough password\n", "exactly one of --user and --phone"),
        (["--user", "999999", "--username", "nobody"], "a long enough password\n", "no such"),
        (["--user", "{clerk}", "--username", "shorty"], "short\n", "too short"),
        (["--user", "{clerk}", "--username", "two words"], "a long enough password\n", "3 to 64"),
        (["--user", "{clerk}", "--username", "staff-a"], "a long enough password\n", "taken"),
    ],
)
def test_set_password_refuses_and_changes_nothing(
    app: Flask, runner: FlaskCliRunner, world: World, args: list[str], typed: str, says: str
) -> None:
    clerk = user_id(app, "clerk")
    with app.app_context():
        staff = extensions.session().get(User, user_id(app, "staff"))
        assert staff is not None
        staff.username = "staff-a"
        extensions.session().commit()
    filled = [arg.replace("{clerk}", str(clerk)) for arg in args]
    result = runner.invoke(
        cli, ["people", "set-password", *filled, "--password-stdin"], input=typed
    )
    assert result.exit_code != 0
    assert says in result.output
    with app.app_context():
        person = extensions.session().get(User, clerk)
        assert person is not None
        assert (person.username, person.password_hash) == (None, None)
    assert audit(app, clerk) == []


@pytest.fixture
def admin_b(app: Flask, world: World) -> int:
    with app.app_context():
        session = extensions.session()
        other = User(name="社区B管理员")
        session.add(other)
        session.flush()
        ensure_grant(session, other, Role.ADMIN, ScopeType.PLACE, world.ids["community_B"])
        session.commit()
        return other.id


def give(app: Flask, by: int, to: int, username: str, password: str = TEMPORARY) -> None:
    with app.app_context():
        actor = load_actor(extensions.session(), by)
        give_console_account(extensions.unit_of_work(), actor, to, username, password)


def test_an_admin_gives_a_temporary_password_that_must_be_changed(
    app: Flask, client: FlaskClient, world: World
) -> None:
    admin, clerk = user_id(app, "admin"), user_id(app, "clerk")
    with app.app_context():
        listed = console_people(extensions.session(), load_actor(extensions.session(), admin))
        names = {person.user.name: person.roles for person in listed}
    assert names["clerk"] == [(Role.CLERK, "小蜜蜂驿站A")]
    assert names["staff"] == [(Role.STAFF, "社区A")]
    assert "admin" not in names  # not oneself, and admins are no one's to reset here
    give(app, admin, clerk, "clerk-a")
    with app.app_context():
        person = extensions.session().get(User, clerk)
        assert person is not None
        assert (person.username, person.password_must_change) == ("clerk-a", True)
    [entry] = audit(app, clerk)
    assert (entry.action, entry.actor_id) == ("person.console_account", admin)
    # The temporary password opens no API tokens: only the console's change page.
    temporary = {"username": "clerk-a", "password": TEMPORARY}
    refused = client.post("/api/v1/auth/password", json=temporary)
    assert (refused.status_code, refused.get_json()["code"]) == (403, "password_change_required")

    with app.app_context():
        actor = load_actor(extensions.session(), clerk)
        before = extensions.session().get(User, clerk)
        assert before is not None
        tokens_before = before.token_version
        with pytest.raises(InvalidInput) as wrong:
            change_own_password(
                extensions.unit_of_work(), actor, "not it at all", "my own pw 123", utcnow()
            )
        assert wrong.value.errors == {"current_password": ["wrong password"]}
        extensions.session().refresh(before)
        assert before.failed_logins == 1  # counted like a wrong sign-in
        with pytest.raises(InvalidInput):
            change_own_password(extensions.unit_of_work(), actor, TEMPORARY, TEMPORARY, utcnow())
        change_own_password(extensions.unit_of_work(), actor, TEMPORARY, "my own pw 123", utcnow())
        person = extensions.session().get(User, clerk)
        assert person is not None
        extensions.session().refresh(person)
        assert person.password_must_change is False
        # The wrong guess counted towards the lockout until the change cleared it; what
        # the old password opened is signed out.
        assert (person.failed_logins, person.token_version) == (0, tokens_before + 1)
    assert signs_in(app, "clerk-a", "my own pw 123")
    signed_in = client.post(
        "/api/v1/auth/password", json={"username": "clerk-a", "password": "my own pw 123"}
    )
    assert signed_in.status_code == 200
    assert [e.action for e in audit(app, clerk)] == [
        "person.console_account",
        "person.password_change",
    ]


def test_who_may_give_a_console_account(app: Flask, world: World, admin_b: int) -> None:
    admin, staff, clerk = (user_id(app, name) for name in ("admin", "staff", "clerk"))
    member, root = user_id(app, "member"), user_id(app, "root")
    with pytest.raises(NotFound):
        give(app, admin_b, clerk, "clerk-a")  # another community's: not found
    with pytest.raises(Forbidden):
        give(app, staff, clerk, "clerk-a")  # staff don't manage people
    with pytest.raises(NoConsoleRole):
        give(app, admin, member, "member-a")  # a member gets no console
    with pytest.raises(NotFound):
        give(app, admin, root, "root-a")  # an admin of the whole street is beyond them
    with pytest.raises(Forbidden):
        give(app, admin, admin, "me-again")
    with app.app_context():
        with pytest.raises(Forbidden):
            console_people(extensions.session(), load_actor(extensions.session(), staff))
        people = console_people(extensions.session(), load_actor(extensions.session(), admin_b))
        assert {person.user.name for person in people} == set()
    give(app, admin, staff, "staff-a")
    with pytest.raises(UsernameTaken):
        give(app, admin, clerk, "staff-a")
    assert audit(app, clerk) == []


@pytest.fixture
def production(app: Flask) -> Iterator[None]:
    settings = app.config["LIANXIN_SETTINGS"]
    app.config["LIANXIN_SETTINGS"] = dataclasses.replace(settings, env=Environment.PRODUCTION)
    yield
    app.config["LIANXIN_SETTINGS"] = settings


def test_the_demo_gives_three_console_usernames(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(cli, ["demo", "seed"])
    assert result.exit_code == 0, result.output
    said = "Console (/console): admin1, staff1, clerk1, each with the password "
    said += DEMO_CONSOLE_PASSWORD
    assert said in result.output
    for username in ("staff1", "clerk1", "admin1"):
        assert signs_in(app, username, DEMO_CONSOLE_PASSWORD)
    again = runner.invoke(cli, ["demo", "seed", "--json"])  # seeding again changes none
    assert again.exit_code == 0, again.output
    usernames = {u["openid"]: u["username"] for u in json.loads(again.output)["users"]}
    assert {openid: name for openid, name in usernames.items() if name} == {
        "demo-admin-1": "admin1",
        "demo-staff-1": "staff1",
        "demo-clerk-1": "clerk1",
    }
    assert signs_in(app, "staff1", DEMO_CONSOLE_PASSWORD)


def test_production_never_seeds_the_demo(
    app: Flask, runner: FlaskCliRunner, fresh_state: None, production: None
) -> None:
    result = runner.invoke(cli, ["demo", "seed"])
    assert result.exit_code != 0
    assert "never seeded in production" in result.output
    with app.app_context():
        assert extensions.session().scalar(select(User.id).limit(1)) is None
