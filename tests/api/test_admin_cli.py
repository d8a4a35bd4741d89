import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from api import extensions
from api.cli import cli
from service.people.models import User
from service.places.models import Place


def test_the_first_admin_of_an_empty_installation(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        cli,
        [
            "admin",
            "create",
            "--name",
            "周建华",
            "--username",
            "zhou",
            "--password-stdin",
            "--root-name",
            "连心区",
            "--root-level",
            "district",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "admin 周建华" in result.output
    with app.app_context():
        session = extensions.session()
        root = session.scalars(select(Place)).one()
        assert (root.name, root.level, root.parent_id) == ("连心区", "district", None)
        user = session.scalars(select(User).where(User.username == "zhou")).one()
        assert [(g.role, g.scope_type, g.scope_id) for g in user.grants] == [
            ("admin", "org", root.id)
        ]
    client = app.test_client()
    signed = client.post(
        "/api/v1/auth/password", json={"username": "zhou", "password": "a long enough password"}
    )
    assert signed.status_code == 200


def test_a_wechat_admin_on_the_existing_root_and_running_twice_adds_nothing(
    app: Flask, runner: FlaskCliRunner
) -> None:
    runner.invoke(cli, ["demo", "seed"])
    for _ in range(2):
        result = runner.invoke(cli, ["admin", "create", "--name", "马书记", "--openid", "o-ma"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        user = extensions.session().scalars(select(User).where(User.openid == "o-ma")).one()
        assert len(user.grants) == 1


def test_refusals_are_one_line(runner: FlaskCliRunner) -> None:
    empty = runner.invoke(cli, ["admin", "create", "--name", "x", "--openid", "o-x"])
    assert empty.exit_code != 0
    assert "place tree is empty" in empty.output
    both = runner.invoke(
        cli,
        [
            "admin",
            "create",
            "--name",
            "x",
            "--openid",
            "o",
            "--username",
            "u",
            "--password-stdin",
            "--root-name",
            "区",
        ],
        input="a long enough password\n",
    )
    assert both.exit_code != 0
    assert "exactly one of --openid and --username" in both.output
    short = runner.invoke(
        cli,
        [
            "admin",
            "create",
            "--name",
            "x",
            "--username",
            "u",
            "--password-stdin",
            "--root-name",
            "区",
        ],
        input="short\n",
    )
    assert short.exit_code != 0
    assert "password too short" in short.output
    missing = runner.invoke(
        cli, ["admin", "create", "--name", "x", "--openid", "o", "--org", "999"]
    )
    assert "no place with id 999" in missing.output


@pytest.mark.parametrize(
    ("option", "value", "password"),
    [
        ("--name", "周\x1b建华", "a long enough password"),
        ("--root-name", "连心\n区", "a long enough password"),
        ("--username", "zh\x7fou", "a long enough password"),
        ("password", "周建华", "a long\tenough password"),
    ],
)
def test_what_the_command_stores_is_text_as_the_api_takes_it(
    app: Flask, runner: FlaskCliRunner, option: str, value: str, password: str
) -> None:
    given = {"--name": "周建华", "--username": "zhou", "--root-name": "连心区", option: value}
    arguments = [
        part for name in ("--name", "--username", "--root-name") for part in (name, given[name])
    ]
    result = runner.invoke(
        cli, ["admin", "create", *arguments, "--password-stdin"], input=f"{password}\n"
    )
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert "control characters" in result.output
    with app.app_context():
        assert extensions.session().scalars(select(Place)).all() == []


def test_the_names_the_command_stores_are_trimmed_and_nfc(
    app: Flask, runner: FlaskCliRunner
) -> None:
    result = runner.invoke(
        cli,
        [
            "admin",
            "create",
            "--name",
            " Jose\u0301 周 ",
            "--openid",
            "o-j",
            "--root-name",
            "连心区 ",
        ],
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = extensions.session()
        assert session.scalars(select(User.name)).all() == ["José 周"]
        assert session.scalars(select(Place.name)).all() == ["连心区"]
