"""`lianxin import places|roster FILE`, and a roster entry signing in later."""

from __future__ import annotations

import csv
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from api import extensions
from api.cli import cli
from service.households.models import Household
from service.people.models import User
from service.places.models import Place
from tests.service.test_imports import ROSTER_HEADER, build_world, write_csv, write_xlsx


def users(app: Flask) -> int:
    with app.app_context():
        return extensions.session().scalar(select(func.count()).select_from(User)) or 0


def world(app: Flask) -> dict[str, int]:
    with app.app_context():
        return build_world(extensions.session())


def test_importing_places_then_again(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "places.xlsx",
        [("path", "level"), ("连心街道", "街道"), ("连心街道/幸福社区", "社区")],
    )
    first = runner.invoke(cli, ["import", "places", str(path)])
    assert first.exit_code == 0, first.output
    assert "places: 2 created, 0 updated, 0 unchanged, 0 rejected" in first.stdout
    again = runner.invoke(cli, ["import", "places", str(path)])
    assert again.exit_code == 0, again.output
    assert "places: 0 created, 0 updated, 2 unchanged, 0 rejected" in again.stdout
    with app.app_context():
        assert extensions.session().scalar(select(func.count()).select_from(Place)) == 2


def test_a_clean_roster_exits_0(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    world(app)
    rows = [ROSTER_HEADER] + [
        (f"党员{n}", 13800000000 + n, "机关第一支部", "幸福第二网格", "党员") for n in range(25)
    ]
    path = write_xlsx(tmp_path / "roster.xlsx", rows)
    result = runner.invoke(cli, ["import", "roster", str(path)])
    assert result.exit_code == 0, result.output
    assert "roster: 25 created, 0 updated, 0 unchanged, 0 rejected" in result.stdout
    assert users(app) == 25


def test_rejected_rows_exit_1_with_a_table_and_a_report(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    world(app)
    rows = [
        ROSTER_HEADER,
        ("甲", "13800000001", "", "幸福第二网格", ""),
        ("乙", "123", "", "幸福第二网格", ""),
        ("丙", "13800000003", "", "第一网格", ""),
    ]
    path = write_csv(tmp_path / "roster.csv", rows)
    report = tmp_path / "errors.csv"
    result = runner.invoke(cli, ["import", "roster", str(path), "--report", str(report)])
    assert result.exit_code == 1
    assert "roster: 1 created, 0 updated, 0 unchanged, 2 rejected" in result.stdout
    assert "not a mainland mobile number" in result.stderr
    assert "ambiguous" in result.stderr
    assert users(app) == 1
    with report.open(encoding="utf-8-sig", newline="") as file:
        lines = list(csv.reader(file))
    assert lines[0] == ["row", "field", "message"]
    assert [line[:2] for line in lines[1:]] == [["3", "phone"], ["4", "residence"]]
    assert lines[1][2] == "not a mainland mobile number"
    assert lines[2][2].startswith("第一网格 is ambiguous (2 places: 连心街道/")


def test_file_problems_are_one_line_and_import_nothing(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    world(app)
    no_phone = write_csv(tmp_path / "roster.csv", [("姓名", "居住地"), ("李", "幸福第二网格")])
    result = runner.invoke(cli, ["import", "roster", str(no_phone)])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: roster.csv: missing required column(s): phone"
    assert users(app) == 0
    text = tmp_path / "roster.txt"
    text.write_text("name,phone,residence\n")
    wrong_kind = runner.invoke(cli, ["import", "roster", str(text)])
    assert wrong_kind.exit_code == 1
    assert wrong_kind.output.strip() == (
        "Error: roster.txt: expected a .csv or .xlsx file (save .xls as .xlsx)"
    )
    missing = runner.invoke(cli, ["import", "places", str(tmp_path / "nowhere.csv")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output


def test_a_roster_entry_is_linked_when_its_person_signs_in_and_binds_the_phone(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    ids = world(app)
    path = write_csv(
        tmp_path / "roster.csv",
        [ROSTER_HEADER, ("李建国", "13912345678", "机关第一支部", "幸福社区/第一网格", "党员")],
    )
    assert runner.invoke(cli, ["import", "roster", str(path)]).exit_code == 0
    with app.app_context():
        entry_id = extensions.session().scalars(select(User.id)).one()

    client = app.test_client()
    signed = client.post("/api/v1/auth/wechat", json={"code": "o-lijianguo"})
    assert signed.status_code == 200
    headers = {"Authorization": f"Bearer {signed.get_json()['access_token']}"}
    bound = client.post("/api/v1/me/phone", json={"code": "13912345678"}, headers=headers)
    assert bound.status_code == 200, bound.get_json()
    body = bound.get_json()
    assert body["linked_to_roster"] is True
    assert body["user"]["id"] == entry_id
    assert body["user"]["roles"] == [
        {"role": "member", "scope_type": "org", "scope_id": ids["xingfu_grid1"]}
    ]
    assert users(app) == 1
    # A later run of the same roster finds the person by phone and leaves them be.
    again = runner.invoke(cli, ["import", "roster", str(path)])
    assert "roster: 0 created, 0 updated, 1 unchanged, 0 rejected" in again.stdout


def test_importing_households_then_updating_them(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    ids = world(app)
    rows = [
        ("网格", "门牌", "户主", "需求"),
        ("幸福社区/第一网格", "1栋101", "王大爷", "独居老人"),
        ("幸福第二网格", "2栋202", "", ""),
        ("第一网格", "3栋303", "", ""),  # two grids are named so
        ("幸福社区/第一网格", "", "", ""),
    ]
    path = write_csv(tmp_path / "households.csv", rows, encoding="gb18030")
    first = runner.invoke(cli, ["import", "households", str(path)])
    assert first.exit_code == 1, first.output
    assert "households: 2 created, 0 updated, 0 unchanged, 2 rejected" in first.stdout
    with app.app_context():
        found = extensions.session().scalars(select(Household).order_by(Household.id)).all()
        assert [(h.place_id, h.label, h.head_name, h.needs) for h in found] == [
            (ids["xingfu_grid1"], "1栋101", "王大爷", "独居老人"),
            (ids["xingfu_grid2"], "2栋202", None, ""),
        ]
    changed = write_xlsx(
        tmp_path / "households.xlsx",
        [
            ("所在网格", "户号", "需求"),
            ("幸福社区/第一网格", "1栋101", "独居老人，行动不便"),
            ("幸福第二网格", "2栋202", ""),
        ],
    )
    again = runner.invoke(cli, ["import", "households", str(changed)])
    assert again.exit_code == 0, again.output
    assert "households: 0 created, 1 updated, 1 unchanged, 0 rejected" in again.stdout
    with app.app_context():
        first_door = extensions.session().scalars(select(Household).order_by(Household.id)).first()
        assert first_door is not None
        assert (first_door.head_name, first_door.needs) == ("王大爷", "独居老人，行动不便")
