"""Bulk imports of the place tree and the member roster from CSV and XLSX."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import extensions
from points.errors import InvalidInput
from points.places import PlaceLevel
from service.imports.places import import_places
from service.imports.roster import import_roster
from service.imports.spreadsheet import ImportReport, OnRow, RowError, cell_text, open_sheet
from service.organisation.models import Branch, Department
from service.people.models import RoleGrant, User
from service.places.models import Place
from service.places.tree import add_place
from service.unit_of_work import UnitOfWork

Cells = Sequence[object]
ROSTER_HEADER = ("name", "phone", "branch", "residence", "role")


def write_xlsx(path: Path, rows: Sequence[Cells]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    workbook.close()
    return path


def write_csv(path: Path, rows: Sequence[Cells], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as file:
        csv.writer(file).writerows(rows)
    return path


def build_world(session: Session) -> dict[str, int]:
    """A street with two communities that each have a grid named 第一网格, and branches
    of which two share a name."""
    street = add_place(session, None, "连心街道", PlaceLevel.STREET)
    ids = {"street": street.id}
    for key, name in (("xingfu", "幸福社区"), ("heping", "和平社区")):
        community = add_place(session, street, name, PlaceLevel.COMMUNITY)
        ids[key] = community.id
        ids[f"{key}_grid1"] = add_place(session, community, "第一网格", PlaceLevel.GRID).id
        second = f"{name[:2]}第二网格"
        ids[f"{key}_grid2"] = add_place(session, community, second, PlaceLevel.GRID).id
        branch = Branch(name="第一党支部", place_id=community.id)
        session.add(branch)
        session.flush()
        ids[f"{key}_branch"] = branch.id
    department = Department(name="区民政局")
    session.add(department)
    session.flush()
    office = Branch(name="机关第一支部", department_id=department.id)
    session.add(office)
    session.flush()
    ids["office_branch"] = office.id
    session.commit()
    return ids


def roster(
    uow: UnitOfWork, path: Path, batch_size: int = 500, on_row: OnRow | None = None
) -> ImportReport:
    with open_sheet(path, ("name", "phone", "residence")) as sheet:
        vault = extensions.phone_vault()
        return import_roster(uow, vault, sheet.rows, on_row, batch_size=batch_size)


def places(uow: UnitOfWork, path: Path) -> ImportReport:
    with open_sheet(path, ("path", "level")) as sheet:
        return import_places(uow, sheet.rows)


def counts(report: ImportReport) -> tuple[int, int, int, int]:
    return report.created, report.updated, report.unchanged, report.rejected


def person(session: Session, phone: str) -> User:
    phone_hash = extensions.phone_vault().lookup_hash(phone)
    return session.scalars(select(User).where(User.phone_hash == phone_hash)).one()


def grants(user: User) -> list[tuple[str, str, int]]:
    return [(g.role, g.scope_type, g.scope_id) for g in user.grants]


def test_places_import_builds_the_tree_and_a_rerun_adds_nothing(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path / "places.xlsx",
        [
            ("路径", "层级"),
            ("连心街道", "街道"),
            ("连心街道/幸福社区", "社区"),
            (" 连心街道 / 幸福社区 / 幸福第一网格 ", "网格"),
            ("连心街道/幸福社区/幸福第一网格/1号楼", "building"),
        ],
    )
    assert counts(places(uow, path)) == (4, 0, 0, 0)
    assert counts(places(uow, path)) == (0, 0, 4, 0)

    session = uow.session
    building = session.scalars(select(Place).where(Place.name == "1号楼")).one()
    grid = session.get(Place, building.parent_id)
    assert grid is not None
    assert (grid.name, grid.level, building.level) == ("幸福第一网格", "grid", "building")
    assert building.path.startswith(grid.path)
    assert session.scalar(select(func.count()).select_from(Place)) == 4


def test_places_rows_in_the_wrong_order_or_level_are_reported_and_the_rest_land(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "places.csv",
        [
            ("path", "level"),
            ("连心街道", "street"),
            ("连心街道/幸福社区/一网格", "grid"),  # 3: parent comes later
            ("连心街道/幸福社区", "community"),
            ("连心街道/幸福社区/一网格", "grid"),
            ("连心街道/幸福社区/一网格/错的社区", "community"),  # 6: above its parent
            ("连心街道/幸福社区", "grid"),  # 7: exists as a community
            ("连心街道/和平社区", "居委"),  # 8: unknown level
            ("连心街道//空", "grid"),  # 9: empty name
            ("", ""),
            ("", "grid"),  # 11: no path
            ("连心街道/和平社区", "村"),
        ],
    )
    report = places(uow, path)
    assert counts(report) == (4, 0, 0, 6)
    assert [(e.row, e.field) for e in report.errors] == [
        (3, "path"),
        (6, "level"),
        (7, "level"),
        (8, "level"),
        (9, "path"),
        (11, "path"),
    ]
    assert report.errors[-1].message == "path is missing"
    assert "parent 连心街道/幸福社区 not found" in report.errors[0].message
    assert "exists as a community" in report.errors[2].message
    names = set(uow.session.scalars(select(Place.name)))
    assert names == {"连心街道", "幸福社区", "一网格", "和平社区"}


def test_roster_creates_people_with_sealed_phones_residence_branch_and_role(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    world = build_world(uow.session)
    path = write_xlsx(
        tmp_path / "roster.xlsx",
        [
            ROSTER_HEADER,
            ("李建国", "13800001234", "幸福社区/第一党支部", "幸福社区/第一网格", "member"),
            ("陈静", "+86 139-0000-5678", "", "和平第二网格", "volunteer"),
            ("赵桂兰", 13700009999.0, "区民政局/机关第一支部", "连心街道/和平社区", ""),
        ],
    )
    report = roster(uow, path)
    assert counts(report) == (3, 0, 0, 0)

    session = uow.session
    li = person(session, "13800001234")
    assert li.openid is None
    assert (li.name, li.phone_masked) == ("李建国", "138****1234")
    assert "13800001234" not in (li.phone_ciphertext or "")
    assert extensions.phone_vault().open(li.phone_ciphertext or "") == "13800001234"
    assert (li.residence_place_id, li.home_branch_id) == (
        world["xingfu_grid1"],
        world["xingfu_branch"],
    )
    assert grants(li) == [("member", "org", world["xingfu_grid1"])]

    chen = person(session, "13900005678")
    assert (chen.residence_place_id, chen.home_branch_id) == (world["heping_grid2"], None)
    assert grants(chen) == [("volunteer", "org", world["heping_grid2"])]

    zhao = person(session, "13700009999")  # a number cell in Excel
    assert zhao.phone_masked == "137****9999"
    assert zhao.home_branch_id == world["office_branch"]
    assert grants(zhao) == [("member", "org", world["heping"])]


def test_a_roster_rerun_finds_everyone_and_duplicates_nothing(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    build_world(uow.session)
    rows = [ROSTER_HEADER] + [
        (f"党员{n}", f"1380000{n:04d}", "机关第一支部", "幸福社区/第一网格", "党员")
        for n in range(30)
    ]
    path = write_csv(tmp_path / "roster.csv", rows)
    assert counts(roster(uow, path, batch_size=7)) == (30, 0, 0, 0)
    assert counts(roster(uow, path, batch_size=7)) == (0, 0, 30, 0)
    session = uow.session
    assert session.scalar(select(func.count()).select_from(User)) == 30
    assert session.scalar(select(func.count()).select_from(RoleGrant)) == 30


def test_the_roster_moves_an_existing_person_with_their_roles_and_keeps_a_signed_in_name(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    world = build_world(uow.session)
    first = [
        ROSTER_HEADER,
        ("李建国", "13800001234", "幸福社区/第一党支部", "幸福社区/第一网格", "党员"),
        ("张秀英", "13800005678", "", "幸福第二网格", "党员"),
    ]
    roster(uow, write_csv(tmp_path / "first.csv", first))
    signed_in = person(uow.session, "13800005678")
    signed_in.openid = "o-zhang"
    uow.commit()

    second = [
        ROSTER_HEADER,
        ("李建军", "13800001234", "机关第一支部", "和平社区/第一网格", "志愿者"),
        ("张秀", "13800005678", "", "幸福第二网格", "党员"),
    ]
    report = roster(uow, write_csv(tmp_path / "second.csv", second))
    assert counts(report) == (0, 1, 1, 0)

    session = uow.session
    session.expire_all()
    li = person(session, "13800001234")
    assert li.name == "李建军"  # never signed in: the roster's name wins
    assert (li.residence_place_id, li.home_branch_id) == (
        world["heping_grid1"],
        world["office_branch"],
    )
    # The member role held at the old home moved with him, as PATCH /users moves it.
    assert grants(li) == [
        ("member", "org", world["heping_grid1"]),
        ("volunteer", "org", world["heping_grid1"]),
    ]
    assert li.token_version == 1
    zhang = person(session, "13800005678")
    assert zhang.name == "张秀英"


def test_bad_rows_are_reported_with_their_row_numbers_and_the_rest_land(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    build_world(uow.session)
    rows = [
        ROSTER_HEADER,
        ("甲", "13800000001", "", "幸福第二网格", ""),
        ("乙", "12345", "", "幸福第二网格", ""),  # 3
        ("丙", "13800000003", "", "幸福花园", ""),  # 4
        ("丁", "13800000004", "", "第一网格", ""),  # 5: in both communities
        ("戊", "13800000005", "红旗支部", "幸福第二网格", ""),  # 6
        ("己", "13800000006", "第一党支部", "幸福第二网格", ""),  # 7: two such branches
        ("庚", "13800000001", "", "幸福第二网格", ""),  # 8: the phone of row 2
        ("", "13800000009", "", "连心街道", "书记"),  # 9: three problems
        (),
        ("辛", "13800000011", "和平社区/第一党支部", "和平社区/第一网格", "居民"),
    ]
    report = roster(uow, write_csv(tmp_path / "roster.csv", rows), batch_size=4)
    assert (report.created, report.rejected) == (2, 7)
    assert [(e.row, e.field) for e in report.errors] == [
        (3, "phone"),
        (4, "residence"),
        (5, "residence"),
        (6, "branch"),
        (7, "branch"),
        (8, "phone"),
        (9, "name"),
        (9, "residence"),
        (9, "role"),
    ]
    messages = {e.row: e.message for e in report.errors}
    assert "ambiguous" in messages[5]
    assert "幸福社区/第一网格" in messages[5]
    assert "和平社区/第一网格" in messages[5]
    assert "ambiguous" in messages[7]
    assert messages[8] == "duplicate of row 2"
    assert set(uow.session.scalars(select(User.name))) == {"甲", "辛"}


def test_chinese_headers_under_a_title_row_and_role_aliases(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    world = build_world(uow.session)
    rows = [
        ("幸福社区党员花名册",),
        ("姓名", "手机号码", "所在支部", "网格*", "身份", "备注"),
        (
            "李建国",
            "13800001234",
            "幸福社区/第一党支部",
            "幸福第二网格",
            "党员",
            "x",
        ),
        ("陈静", "13800001235", "", "幸福第二网格", "志愿者", ""),
        ("赵桂兰", "13800001236", "", "幸福第二网格", "居民", ""),
    ]
    report = roster(uow, write_csv(tmp_path / "roster.csv", rows, encoding="utf-8-sig"))
    assert counts(report) == (3, 0, 0, 0)
    session = uow.session
    roles = {u.name: grants(u)[0][0] for u in session.scalars(select(User))}
    assert roles == {"李建国": "member", "陈静": "volunteer", "赵桂兰": "resident"}
    assert person(session, "13800001234").home_branch_id == world["xingfu_branch"]


def test_a_gbk_csv_from_chinese_excel(uow: UnitOfWork, tmp_path: Path) -> None:
    build_world(uow.session)
    rows = [("姓名", "电话", "居住地"), ("何淑珍", "13800002222", "和平第二网格")]
    report = roster(uow, write_csv(tmp_path / "roster.csv", rows, encoding="gbk"))
    assert counts(report) == (1, 0, 0, 0)
    assert person(uow.session, "13800002222").name == "何淑珍"


def test_numbers_from_excel_cells_read_as_digits() -> None:
    assert cell_text(13800001234.0) == "13800001234"
    assert cell_text(13800001234) == "13800001234"
    assert cell_text(1.5) == "1.5"
    assert cell_text(None) == ""
    assert cell_text("  幸福社区 ") == "幸福社区"


def file_problem(path: Path, required: tuple[str, ...]) -> str:
    with pytest.raises(InvalidInput) as raised, open_sheet(path, required):
        pass
    return raised.value.message


def test_file_problems_are_raised_before_any_row(tmp_path: Path) -> None:
    required = ("name", "phone", "residence")
    no_phone = write_xlsx(tmp_path / "roster.xlsx", [("姓名", "居住地"), ("李", "网格")])
    assert file_problem(no_phone, required) == "missing required column(s): phone"
    both = write_csv(tmp_path / "both.csv", [("姓名", "手机", "电话", "居住地")])
    assert file_problem(both, required) == "two columns mean 'phone'; keep one"
    text = tmp_path / "roster.txt"
    text.write_text("name,phone\n")
    assert "expected a .csv or .xlsx file" in file_problem(text, required)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip file")
    assert "not a readable XLSX workbook" in file_problem(broken, required)
    empty = write_csv(tmp_path / "empty.csv", [])
    assert file_problem(empty, required) == "the file has no header row"
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"\xff\xfe\x00n\x00a")
    assert "neither UTF-8 nor GB18030" in file_problem(latin, required)


def test_progress_is_reported_for_every_row(uow: UnitOfWork, tmp_path: Path) -> None:
    build_world(uow.session)
    rows = [ROSTER_HEADER] + [
        (f"居民{n}", f"1390000{n:04d}", "", "幸福第二网格" if n % 3 else "无此处", "居民")
        for n in range(10)
    ]
    seen: list[int] = []
    path = write_xlsx(tmp_path / "roster.xlsx", rows)
    report = roster(uow, path, batch_size=3, on_row=seen.append)
    assert seen == list(range(1, 11))
    assert counts(report) == (6, 0, 0, 4)
    assert report.errors[0] == RowError(2, "no place named 无此处", "residence")
