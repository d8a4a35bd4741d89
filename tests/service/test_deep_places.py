"""What finds "the community" or "the grid" of a place keeps finding the nearest one
when the tree is deep and a tier repeats: a community inside a community, a micro-grid
inside a grid, an estate inside a grid. And the tree is imported at any depth."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from points.places import PlaceLevel
from service.db import utcnow
from service.demands.models import Demand
from service.demands.public import public_demands
from service.imports.places import import_places
from service.imports.spreadsheet import open_sheet
from service.people.belonging import home_places
from service.people.models import User
from service.places.models import Place
from service.places.tree import add_place
from service.unit_of_work import UnitOfWork
from tests.service.test_imports import ROSTER_HEADER, counts, person, roster, write_csv


def test_where_one_belongs_is_the_nearest_community_above_them(uow: UnitOfWork) -> None:
    session = uow.session
    street = add_place(session, None, "街道", PlaceLevel.STREET)
    outer = add_place(session, street, "大社区", PlaceLevel.COMMUNITY)
    inner = add_place(session, outer, "东片社区", PlaceLevel.COMMUNITY)
    beside = add_place(session, outer, "西片社区", PlaceLevel.COMMUNITY)
    estate = add_place(session, inner, "阳光小区", PlaceLevel.ESTATE)
    grid = add_place(session, estate, "第一网格", PlaceLevel.GRID)
    unit = add_place(
        session, add_place(session, grid, "3栋", PlaceLevel.BUILDING), "2单元", PlaceLevel.UNIT
    )
    deep, shallow, nowhere = User(name="住单元的"), User(name="住西片的"), User(name="住街道的")
    deep.residence_place_id = unit.id
    shallow.residence_place_id = beside.id
    nowhere.residence_place_id = street.id
    session.add_all(
        [deep, shallow, nowhere, add_place(session, beside, "西片网格", PlaceLevel.GRID)]
    )
    uow.commit()
    today = utcnow().date()

    prefixes, above = home_places(session, deep.id, today)
    assert prefixes == [inner.path]  # not the outer community, not the unit itself
    assert above == {street.path, outer.path}
    assert not any(beside.path.startswith(p) for p in prefixes)
    assert home_places(session, shallow.id, today) == ([beside.path], {street.path, outer.path})
    # With no community above, where one lives is where their tasks are.
    assert home_places(session, nowhere.id, today) == ([street.path], set())


def test_a_published_demand_names_the_nearest_grid_above_it(uow: UnitOfWork) -> None:
    session = uow.session
    community = add_place(session, None, "社区", PlaceLevel.COMMUNITY)
    grid = add_place(session, community, "第一网格", PlaceLevel.GRID)
    micro = add_place(session, grid, "第一微网格", PlaceLevel.GRID)
    estate = add_place(session, micro, "小院", PlaceLevel.ESTATE)  # a grid of small estates
    building = add_place(session, estate, "3栋", PlaceLevel.BUILDING)
    unit = add_place(session, building, "2单元", PlaceLevel.UNIT)
    elsewhere = add_place(session, community, "无网格小区", PlaceLevel.ESTATE)
    reporter = User(name="居民")
    session.add(reporter)
    session.flush()
    now = utcnow()
    where = [unit, estate, grid, micro, elsewhere, community]
    for number, place in enumerate(where):
        session.add(
            Demand(
                place_id=place.id,
                category="environment",
                description="楼道堆物",
                reporter_id=reporter.id,
                reporter_role="resident",
                status="published",
                public_summary=f"第{number}件已处理",
                published_at=now - timedelta(hours=number + 1),
            )
        )
    uow.commit()

    listed = public_demands(session, community.id, now, days=30, limit=20)
    by_summary = {d.summary: d.grid for d in listed}
    assert by_summary == {
        "第0件已处理": "第一微网格",  # a unit, four levels below the micro-grid
        "第1件已处理": "第一微网格",
        "第2件已处理": "第一网格",  # a grid names itself
        "第3件已处理": "第一微网格",
        "第4件已处理": "无网格小区",  # above any grid: the place itself
        "第5件已处理": "社区",
    }


def test_a_deep_tree_imports_with_its_chinese_level_names(uow: UnitOfWork, tmp_path: Path) -> None:
    rows = [
        ("路径", "层级"),
        ("连心区", "区"),
        ("连心区/幸福街道", "街道"),
        ("连心区/幸福街道/幸福社区", "社区"),
        ("连心区/幸福街道/幸福社区/阳光小区", "小区"),
        ("连心区/幸福街道/幸福社区/阳光小区/第一网格", "网格"),
        ("连心区/幸福街道/幸福社区/阳光小区/第一网格/第一微网格", "微网格"),
        ("连心区/幸福街道/幸福社区/阳光小区/第一网格/第一微网格/3栋", "楼栋"),
        ("连心区/幸福街道/幸福社区/阳光小区/第一网格/第一微网格/3栋/2单元", "单元"),
        ("连心区/青山镇", "镇"),
        ("连心区/青山镇/青山村", "村"),
        ("连心区/青山镇/青山村/上湾", "自然村"),
        ("连心区/青山镇/青山村/上湾/1号", "楼栋"),
        ("连心区/青山镇/青山村/上湾/1号/下湾", "自然村"),  # above its building: refused
    ]
    path = write_csv(tmp_path / "places.csv", rows)
    with open_sheet(path, ("path", "level")) as sheet:
        report = import_places(uow, sheet.rows)
    assert counts(report) == (12, 0, 0, 1)
    assert [(e.row, e.field) for e in report.errors] == [(14, "level")]
    session = uow.session
    unit = session.scalars(select(Place).where(Place.name == "2单元")).one()
    assert unit.level == "unit"
    assert unit.path.count("/") - 1 == 8
    levels = dict(session.execute(select(Place.name, Place.level)).all())
    assert (levels["阳光小区"], levels["第一微网格"], levels["上湾"]) == (
        "estate",
        "grid",
        "natural_village",
    )

    # The roster places people anywhere from a community down, however deep.
    people = write_csv(
        tmp_path / "roster.csv",
        [
            ROSTER_HEADER,
            ("李建国", "13800001234", "", "阳光小区/第一网格/第一微网格/3栋/2单元", "member"),
            ("王秀英", "13800005678", "", "青山村/上湾", "volunteer"),
            ("赵四", "13800009999", "", "连心区/青山镇", "member"),  # a town: too high
        ],
    )
    placed = roster(uow, people)
    assert counts(placed) == (2, 0, 0, 1)
    assert [(e.row, e.field) for e in placed.errors] == [(4, "residence")]
    assert person(session, "13800001234").residence_place_id == unit.id
    assert person(session, "13800005678").residence_place_id == session.scalar(
        select(Place.id).where(Place.name == "上湾")
    )
