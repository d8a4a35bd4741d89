"""Spreadsheet cells are text as the API takes it: a cell with NUL or another control
character rejects its row, naming the column, while the good rows land; names are
stored trimmed and NFC; a household's needs keep their line breaks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import extensions
from service.households.models import Household
from service.imports.households import import_households
from service.imports.places import import_places
from service.imports.roster import import_roster
from service.imports.spreadsheet import ImportReport, open_sheet
from service.people.models import User
from service.places.models import Place
from service.unit_of_work import UnitOfWork
from tests.service.test_imports import build_world, write_csv, write_xlsx

Run = Callable[[UnitOfWork, Path], ImportReport]


def run_places(uow: UnitOfWork, path: Path) -> ImportReport:
    with open_sheet(path, ("path", "level")) as sheet:
        return import_places(uow, sheet.rows)


def run_roster(uow: UnitOfWork, path: Path) -> ImportReport:
    with open_sheet(path, ("name", "phone", "residence")) as sheet:
        return import_roster(uow, extensions.phone_vault(), sheet.rows)


def run_households(uow: UnitOfWork, path: Path) -> ImportReport:
    with open_sheet(path, ("residence", "label")) as sheet:
        return import_households(uow, sheet.rows)


# Per import: how to run it, and three good rows (header first); the middle one is
# spoilt, one column at a time.
IMPORTS: dict[str, tuple[Run, Sequence[Sequence[str]]]] = {
    "places": (
        run_places,
        [
            ("path", "level"),
            ("连心街道/幸福社区/甲网格", "网格"),
            ("连心街道/幸福社区/乙网格", "网格"),
            ("连心街道/幸福社区/丙网格", "网格"),
        ],
    ),
    "roster": (
        run_roster,
        [
            ("name", "phone", "branch", "residence", "role"),
            ("甲", "13800000001", "", "幸福第二网格", ""),
            ("乙", "13800000002", "和平社区/第一党支部", "和平社区/第一网格", "党员"),
            ("丙", "13800000003", "", "幸福第二网格", "志愿者"),
        ],
    ),
    "households": (
        run_households,
        [
            ("residence", "label", "head_name", "needs"),
            ("幸福第二网格", "1栋101", "", ""),
            ("幸福第二网格", "2栋202", "王大爷", "独居老人\n行动不便"),
            ("幸福第二网格", "3栋303", "", ""),
        ],
    ),
}
CASES = [
    (kind, column, char)
    for kind, (_, rows) in IMPORTS.items()
    for column in rows[0]
    for char in ("\x00", "\x1b")
]


def spoilt(value: str, char: str) -> str:
    return f"{value[:1]}{char}{value[1:]}"


def stored_text(session: Session) -> list[str]:
    texts = [
        *session.scalars(select(Place.name)),
        *session.scalars(select(User.name)),
        *session.scalars(select(Household.label)),
        *session.scalars(select(Household.needs)),
    ]
    return [text for text in texts if text]


@pytest.mark.parametrize(("kind", "column", "char"), CASES)
def test_a_cell_with_a_control_character_rejects_its_row_and_only_it(
    uow: UnitOfWork, tmp_path: Path, kind: str, column: str, char: str
) -> None:
    build_world(uow.session)
    run, rows = IMPORTS[kind]
    header = list(rows[0])
    bad = list(rows[2])
    bad[header.index(column)] = spoilt(bad[header.index(column)], char)
    path = write_csv(tmp_path / f"{kind}.csv", [rows[0], rows[1], bad, rows[3]])
    report = run(uow, path)
    assert (report.created, report.rejected) == (2, 1)
    assert [(e.row, e.field) for e in report.errors] == [(3, column)]
    assert f"U+{ord(char):04X}" in report.errors[0].message
    assert not [text for text in stored_text(uow.session) if char in text]


def test_an_xlsx_cell_with_a_c1_control_rejects_its_row(uow: UnitOfWork, tmp_path: Path) -> None:
    build_world(uow.session)
    path = write_xlsx(
        tmp_path / "roster.xlsx",
        [
            ("姓名", "手机号", "居住地"),
            ("张\x9b伟", "13800000001", "幸福第二网格"),
            ("李娜", "13800000002", "幸福第二网格"),
        ],
    )
    report = run_roster(uow, path)
    assert (report.created, [(e.row, e.field) for e in report.errors]) == (1, [(2, "name")])


def test_names_are_stored_trimmed_and_nfc_and_needs_keep_their_line_breaks(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    build_world(uow.session)
    roster = write_xlsx(
        tmp_path / "roster.xlsx",
        [("姓名", "手机号", "居住地"), ("\u3000Jose\u0301 王", "13800000001", "幸福第二网格")],
    )
    assert run_roster(uow, roster).created == 1
    households = write_csv(
        tmp_path / "households.csv",
        [("网格", "门牌", "需求"), ("幸福第二网格", "1栋101", " 独居老人\r\n行动不便\t需送餐 ")],
    )
    assert run_households(uow, households).created == 1
    session = uow.session
    assert session.scalars(select(User.name).where(User.name.like("José%"))).all() == ["José 王"]
    needs = session.scalars(select(Household.needs).where(Household.label == "1栋101")).one()
    assert needs == "独居老人\n行动不便\t需送餐"


def test_a_column_no_import_reads_is_left_alone(uow: UnitOfWork, tmp_path: Path) -> None:
    build_world(uow.session)
    path = write_csv(
        tmp_path / "roster.csv",
        [("姓名", "手机号", "居住地", "备注"), ("甲", "13800000001", "幸福第二网格", "一\x00二")],
    )
    report = run_roster(uow, path)
    assert (report.created, report.rejected) == (1, 0)
