"""Bulk awards: good rows go through once, bad ones are reported, large ones wait."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from api import extensions
from api.cli import cli
from service.auth.passwords import hash_password
from service.ledger.models import Transfer
from service.people.models import User
from tests.api.world import World

CSV = """手机号,分值,币种,事由
13900000000,30,幸福币,防汛值守
13900000000,5,积分,防汛值守
13900000000,40,幸福币,重复一行
13900000001,10,幸福币,别的社区
12345,10,幸福币,号码不对
13912345678,10,幸福币,不在名册
13900000000,abc,积分,数不对
"""


def upload(
    client: FlaskClient,
    world: World,
    role: str,
    text: str,
    batch: str = "2026 防汛",
    name: str = "awards.csv",
) -> Any:
    return client.post(
        "/api/v1/award-imports",
        query_string={"batch": batch},
        data={"file": (io.BytesIO(text.encode()), name)},
        headers={"Authorization": f"Bearer {world.tokens[role]}"},
    )


def award_count(app: Flask) -> int:
    with app.app_context():
        return (
            extensions.session().scalar(
                select(func.count()).select_from(Transfer).where(Transfer.kind == "award")
            )
            or 0
        )


def test_good_rows_land_once_and_bad_rows_are_reported(
    app: Flask, client: FlaskClient, world: World
) -> None:
    report = upload(client, world, "admin", CSV).get_json()
    assert (report["posted"], report["waiting"], report["already"]) == (2, 0, 0)
    assert {(e["row"], e["field"]) for e in report["errors"]} == {
        (4, "phone"),  # duplicate of row 2 (same person and currency in one batch)
        (5, None),  # lives in the other community: not in this admin's scope
        (6, "phone"),
        (7, "phone"),
        (8, "amount"),
    }
    assert award_count(app) == 2
    again = upload(client, world, "admin", CSV).get_json()
    assert (again["posted"], again["already"]) == (0, 2)
    assert award_count(app) == 2


def test_large_awards_wait_for_a_second_staff_member(
    app: Flask, client: FlaskClient, world: World
) -> None:
    report = upload(client, world, "staff", "phone,amount,reason\n13900000000,500,年度表彰\n")
    assert (report.get_json()["posted"], report.get_json()["waiting"]) == (0, 1)
    assert award_count(app) == 0


@pytest.mark.parametrize("column", ["phone", "amount", "currency", "reason"])
def test_a_cell_with_a_control_character_rejects_its_row(
    app: Flask, client: FlaskClient, world: World, column: str
) -> None:
    good = {"phone": "13900000000", "amount": "30", "currency": "幸福币", "reason": "防汛值守"}
    bad = {**good, "currency": "积分", column: f"{good[column][:1]}\x00{good[column][1:]}"}
    rows = ["phone,amount,currency,reason", ",".join(good.values()), ",".join(bad.values())]
    report = upload(client, world, "admin", "\n".join(rows) + "\n").get_json()
    assert report["posted"] == 1
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, column)]
    assert award_count(app) == 1


@pytest.mark.parametrize(
    ("text", "name", "code"),
    [
        ("phone,reason\n13900000000,缺分值\n", "awards.csv", "missing_columns"),
        ("phone,amount,reason\n", "awards.txt", "invalid_input"),
    ],
)
def test_a_bad_file_is_refused_whole(
    app: Flask, client: FlaskClient, world: World, text: str, name: str, code: str
) -> None:
    response = upload(client, world, "admin", text, name=name)
    assert (response.status_code, response.get_json()["code"]) == (422, code)
    assert award_count(app) == 0


def test_the_command_names_the_admin_who_awards(
    app: Flask, client: FlaskClient, world: World, tmp_path: Path
) -> None:
    with app.app_context():
        session = extensions.session()
        admin = session.get(
            User,
            client.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {world.tokens['root']}"}
            ).get_json()["id"],
        )
        assert admin is not None
        admin.username, admin.password_hash = "zhou", hash_password("a long password here")
        session.commit()
    sheet = tmp_path / "awards.csv"
    sheet.write_text(
        "phone,amount,reason\n13900000000,8,清理楼道\n13900000001,9,清理楼道\n", encoding="utf-8"
    )
    runner = app.test_cli_runner()
    done = runner.invoke(cli, ["awards", "import", str(sheet), "--batch", "十一月", "--by", "zhou"])
    assert done.exit_code == 0, done.output
    assert "2 posted" in done.output
    nobody = runner.invoke(cli, ["awards", "import", str(sheet), "--batch", "x", "--by", "ghost"])
    assert nobody.exit_code == 1
    assert "accountable admin" in nobody.output
