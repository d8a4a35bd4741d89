"""Imports over HTTP (POST /imports/{kind}): the CLI's imports, for the uploader's
places only, answered with the row report; the whole file is refused only when the
uploader may not import it at all, or it is too big or no spreadsheet."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from api import extensions
from service.audit.models import AuditEntry
from service.households.models import Household
from service.people.models import RoleGrant, User
from service.places.models import Place
from tests.api.test_audit import user_of
from tests.api.world import World, build_world
from tests.conftest import AppFactory, empty_tables
from tests.service.test_imports import write_xlsx


def upload(
    client: FlaskClient,
    world: World,
    role: str,
    kind: str,
    content: bytes | str,
    filename: str = "sheet.csv",
) -> TestResponse:
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        f"/api/v1/imports/{kind}",
        data={"file": (io.BytesIO(data), filename)},
        headers={"Authorization": f"Bearer {world.tokens[role]}", "X-Request-ID": "import-1"},
    )


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        session = extensions.session()
        found = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
        session.rollback()
        return found


def problems(response: TestResponse) -> list[tuple[int, str | None]]:
    return [(error["row"], error["field"]) for error in response.get_json()["errors"]]


HOUSEHOLDS = (
    "网格,门牌,户主,需求\n"
    "网格A,5栋101,王大爷,独居\n"  # row 2: community A's grid
    "网格B,5栋102,李奶奶,\n"  # row 3: community B's
    "网格C,5栋103,,\n"  # row 4: no such place
)


def test_households_land_in_the_uploaders_places_and_the_rest_are_row_errors(
    app: Flask, client: FlaskClient, world: World
) -> None:
    before = count(app, Household)
    first = upload(client, world, "staff", "households", HOUSEHOLDS)
    assert first.status_code == 200, first.get_json()
    report = first.get_json()
    assert (report["kind"], report["created"], report["rejected"]) == ("households", 1, 2)
    assert report["landed"] == [{"row": 2, "outcome": "created"}]
    assert problems(first) == [(3, "residence"), (4, "residence")]
    assert "outside the places you may import into" in report["errors"][0]["message"]
    assert count(app, Household) == before + 1
    assert count(app, Household, Household.place_id == world.ids["grid_B"]) == 1  # the world's

    again = upload(client, world, "staff", "households", HOUSEHOLDS).get_json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)
    assert count(app, Household) == before + 1
    # The street's admin reaches both communities.
    root = upload(client, world, "root", "households", HOUSEHOLDS).get_json()
    assert (root["created"], root["unchanged"], problems_of(root)) == (1, 1, [(4, "residence")])


def problems_of(report: dict[str, Any]) -> list[tuple[int, str | None]]:
    return [(error["row"], error["field"]) for error in report["errors"]]


def test_a_roster_places_people_only_where_the_uploader_grants_and_is_audited(
    app: Flask, client: FlaskClient, world: World
) -> None:
    roster = (
        "姓名,手机号,居住地,支部,角色\n"
        "张伟,13800002222,网格A,支部A,党员\n"  # 2: new, lands
        "李娜,13800003333,网格B,,志愿者\n"  # 3: lives in community B
        "居民B,13900000001,网格A,,党员\n"  # 4: community B's person, by phone
        "赵敏,13800004444,网格A,支部B,党员\n"  # 5: community B's branch
        "居民A,13900000000,网格A,,党员\n"  # 6: already on the roster, as is
    )
    people = count(app, User)
    response = upload(client, world, "staff", "roster", roster)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["created"], report["unchanged"], report["rejected"]) == (1, 1, 3)
    assert problems(response) == [(3, "residence"), (4, "phone"), (5, "branch")]
    assert count(app, User) == people + 1
    with app.app_context():
        session = extensions.session()
        zhang = session.scalars(select(User).where(User.name == "张伟")).one()
        assert (zhang.residence_place_id, zhang.home_branch_id) == (
            world.ids["grid_A"],
            world.ids["branch_A"],
        )
        [grant] = session.scalars(select(RoleGrant).where(RoleGrant.user_id == zhang.id))
        assert (grant.role, grant.scope_id, grant.granted_by_id) == (
            "member",
            world.ids["grid_A"],
            user_of(world, "staff"),
        )
        # Community B's person was not moved.
        person_b = session.get(User, world.ids["person_B"])
        assert person_b is not None
        assert person_b.residence_place_id == world.ids["grid_B"]
        [entry] = session.scalars(select(AuditEntry))
        assert (entry.action, entry.object_id, entry.actor_id, entry.request_id) == (
            "grant.create",
            grant.id,
            user_of(world, "staff"),
            "import-1",
        )
        session.rollback()

    again = upload(client, world, "staff", "roster", roster).get_json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert count(app, User) == people + 1
    assert count(app, AuditEntry) == 1


def test_places_only_below_the_uploaders_own_and_never_a_new_root(
    app: Flask, client: FlaskClient, world: World, tmp_path: Path
) -> None:
    sheet = write_xlsx(
        tmp_path / "places.xlsx",
        [
            ("路径", "层级"),
            ("街道", "街道"),  # 2: above the admin's community
            ("街道/社区A/网格A2", "网格"),  # 3: lands
            ("街道/社区A/网格A2/1号楼", "楼栋"),  # 4: lands, under the row before
            ("街道/社区B/网格B2", "网格"),  # 5: community B's
            ("新街道", "街道"),  # 6: a new root
        ],
    )
    places = count(app, Place)
    response = upload(client, world, "admin", "places", sheet.read_bytes(), "places.xlsx")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["created"], report["rejected"]) == (2, 3)
    assert problems(response) == [(2, "path"), (5, "path"), (6, "path")]
    assert count(app, Place) == places + 2
    again = upload(client, world, "admin", "places", sheet.read_bytes(), "places.xlsx").get_json()
    assert (again["created"], again["unchanged"]) == (0, 2)
    assert count(app, Place) == places + 2


@pytest.mark.parametrize(
    ("role", "kind"),
    [
        ("staff", "places"),  # staff don't shape the place tree
        ("member", "households"),
        ("volunteer", "roster"),
        ("resident", "roster"),
        ("clerk", "households"),
        ("dept_officer", "places"),
    ],
)
def test_no_right_to_import_at_all_is_403_and_nothing_lands(
    app: Flask, client: FlaskClient, world: World, role: str, kind: str
) -> None:
    before = (count(app, Place), count(app, User), count(app, Household))
    sheet = {
        "places": "path,level\n街道/社区A/新网格,grid\n",
        "households": HOUSEHOLDS,
        "roster": "name,phone,residence\n张伟,13800002222,网格A\n",
    }[kind]
    response = upload(client, world, role, kind, sheet)
    assert (response.status_code, response.get_json()["code"]) == (403, "forbidden")
    assert (count(app, Place), count(app, User), count(app, Household)) == before


def not_xlsx_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "filename", "code"),
    [
        (bytes.fromhex("89504e470d0a1a0a0000000d49484452"), "photo.csv", "not_a_spreadsheet"),
        (bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 64, "old.xls", "not_a_spreadsheet"),
        (not_xlsx_zip(), "sheet.xlsx", "not_a_spreadsheet"),
        (b"PK\x03\x04 broken", "sheet.xlsx", "not_a_spreadsheet"),
        (b"\xff\xfe\x00\x00binary", "sheet.csv", "not_a_spreadsheet"),
        ("网格,户主\n网格A,王大爷\n", "sheet.csv", "missing_columns"),  # no 门牌
        ("", "empty.csv", "missing_columns"),
    ],
)
def test_a_file_that_is_no_spreadsheet_is_422_and_nothing_lands(
    app: Flask, client: FlaskClient, world: World, content: bytes | str, filename: str, code: str
) -> None:
    before = count(app, Household)
    response = upload(client, world, "staff", "households", content, filename)
    assert (response.status_code, response.get_json()["code"]) == (422, code)
    assert count(app, Household) == before


def test_the_name_does_not_matter_the_content_does(
    app: Flask, client: FlaskClient, world: World, tmp_path: Path
) -> None:
    sheet = write_xlsx(tmp_path / "h.xlsx", [("网格", "门牌"), ("网格A", "7栋701")])
    response = upload(client, world, "staff", "households", sheet.read_bytes(), "upload.bin")
    assert (response.status_code, response.get_json()["created"]) == (200, 1)
    gbk = "网格,门牌\n网格A,7栋702\n".encode("gbk")
    response = upload(client, world, "staff", "households", gbk, "导出.xlsx")
    assert (response.status_code, response.get_json()["created"]) == (200, 1)


def test_an_unknown_kind_is_404_and_a_missing_file_422(client: FlaskClient, world: World) -> None:
    unknown = upload(client, world, "root", "awards", HOUSEHOLDS)
    assert (unknown.status_code, unknown.get_json()["code"]) == (404, "not_found")
    missing = client.post(
        "/api/v1/imports/households",
        data={},
        headers={"Authorization": f"Bearer {world.tokens['staff']}"},
    )
    assert missing.status_code == 422
    assert "file" in missing.get_json()["errors"]


def test_over_the_size_or_row_limit_is_413_and_nothing_lands(make_app: AppFactory) -> None:
    app = make_app(import_max_bytes=200, import_max_rows=2)
    empty_tables(app)
    world = build_world(app)
    client = app.test_client()
    before = count(app, Household)
    big = "网格,门牌\n" + "".join(f"网格A,{n}号\n" for n in range(40))
    too_big = upload(client, world, "staff", "households", big)
    assert (too_big.status_code, too_big.get_json()["code"]) == (413, "too_large")
    rows = "网格,门牌\n网格A,1号\n网格A,2号\n网格A,3号\n"
    too_many = upload(client, world, "staff", "households", rows)
    assert (too_many.status_code, too_many.get_json()["code"]) == (413, "too_many_rows")
    assert count(app, Household) == before
    just = upload(client, world, "staff", "households", "网格,门牌\n网格A,1号\n网格A,2号\n")
    assert (just.status_code, just.get_json()["created"]) == (200, 2)
