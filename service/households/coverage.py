"""党员联户 coverage: of the households party members are paired with, which their member
visited in a period (a quarter by default), per grid and per member, and the list of
those not visited at all, which staff chase and hand upwards.

A paired household counts as visited when its member logged a visit there on a day
of the period and staff confirmed it: a visit by someone else, or one still waiting,
is not the pairing kept.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, require
from points.calendar import LOCAL_TIME, Span, local_date, quarter_of
from points.errors import InvalidInput
from points.households import VisitStatus
from service.households.models import Household, HouseholdPairing, HouseholdVisit
from service.people.models import User
from service.places.models import Place
from service.places.tree import named_place


@dataclass(frozen=True)
class CoverageLine:
    """One grid's or one member's part: paired households, and how many were visited."""

    id: int
    name: str
    households: int
    visited: int

    @property
    def not_visited(self) -> int:
        return self.households - self.visited

    @property
    def rate(self) -> float:
        return round(self.visited / self.households, 4) if self.households else 0.0


@dataclass(frozen=True)
class Unvisited:
    household_id: int
    label: str
    place_id: int
    place_name: str
    member_id: int
    member_name: str | None
    last_visited_at: datetime | None  # by anyone, ever: how long the door has waited


@dataclass(frozen=True)
class Coverage:
    place: Place
    span: Span
    total: CoverageLine
    grids: list[CoverageLine]
    members: list[CoverageLine]
    unvisited: list[Unvisited]


def coverage(
    session: Session,
    actor: Actor,
    place_id: int,
    now: datetime,
    *,
    first: date | None = None,
    last: date | None = None,
) -> Coverage:
    """The coverage of pairings that ran from ``first`` to ``last`` (local days, both
    included; the current quarter by default) in a place's subtree."""
    quarter = quarter_of(local_date(now))
    span = Span(first or quarter.first, last + timedelta(days=1) if last else quarter.end)
    if span.end <= span.first:
        raise InvalidInput("the period ends before it starts", errors={"to": ["before from"]})
    place = named_place(session, place_id)
    require(actor, Action.MANAGE_HOUSEHOLDS, Target(place_path=place.path), what="place")
    visited = exists().where(
        HouseholdVisit.household_id == HouseholdPairing.household_id,
        HouseholdVisit.visitor_id == HouseholdPairing.member_id,
        HouseholdVisit.status == VisitStatus.CONFIRMED.value,
        HouseholdVisit.visit_day >= span.first,
        HouseholdVisit.visit_day < span.end,
    )
    pairs = (
        select(
            HouseholdPairing.household_id,
            HouseholdPairing.member_id,
            Household.place_id,
            case((visited, 1), else_=0).label("visited"),
        )
        .join(Household, Household.id == HouseholdPairing.household_id)
        .join(Place, Place.id == Household.place_id)
        .where(
            Place.path.startswith(place.path),
            HouseholdPairing.started_on < span.end,
            or_(HouseholdPairing.ended_on.is_(None), HouseholdPairing.ended_on >= span.first),
        )
        .cte("pairs")
    )
    # A household with two members is visited once either of them went.
    doors = (
        select(pairs.c.household_id, pairs.c.place_id, func.max(pairs.c.visited).label("visited"))
        .group_by(pairs.c.household_id, pairs.c.place_id)
        .cte("doors")
    )
    grids = [
        CoverageLine(place_id, name, households, int(seen or 0))
        for place_id, name, households, seen in session.execute(
            select(Place.id, Place.name, func.count(), func.sum(doors.c.visited))
            .join(doors, doors.c.place_id == Place.id)
            .group_by(Place.id, Place.name)
            # By id, as they were made: a path's text order puts /10/ before /9/.
            .order_by(Place.id)
        )
    ]
    members = [
        CoverageLine(member_id, name or "", households, int(seen or 0))
        for member_id, name, households, seen in session.execute(
            select(User.id, User.name, func.count(), func.sum(pairs.c.visited))
            .join(pairs, pairs.c.member_id == User.id)
            .group_by(User.id, User.name)
            .order_by(User.id)
        )
    ]
    # Doors none of their members visited, with each member who was to go.
    unvisited = [
        Unvisited(*row)
        for row in session.execute(
            select(
                Household.id,
                Household.label,
                Place.id,
                Place.name,
                User.id,
                User.name,
                Household.last_visited_at,
            )
            .select_from(pairs)
            .join(doors, doors.c.household_id == pairs.c.household_id)
            .join(Household, Household.id == pairs.c.household_id)
            .join(Place, Place.id == Household.place_id)
            .join(User, User.id == pairs.c.member_id)
            .where(doors.c.visited == literal(0))
            .order_by(Place.id, Household.label, User.id)
        )
    ]
    households = sum(line.households for line in grids)
    total = CoverageLine(place.id, place.name, households, sum(line.visited for line in grids))
    return Coverage(place, span, total, grids, members, unvisited)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SHEETS: list[tuple[str, list[tuple[str, int]]]] = [
    ("按网格", [("网格", 16), ("结对户数", 10), ("已走访", 10), ("未走访", 10), ("走访率", 10)]),
    ("按党员", [("党员", 12), ("结对户数", 10), ("已走访", 10), ("未走访", 10), ("走访率", 10)]),
    (
        "未走访户",
        [("网格", 16), ("门牌", 20), ("结对党员", 12), ("最近一次走访", 18)],
    ),
]


def coverage_workbook(found: Coverage) -> IO[bytes]:
    """The coverage as the spreadsheet a community hands upwards, rewound."""
    book = Workbook(write_only=True)
    title = (
        f"党员联户走访情况（{found.place.name} {found.span.first.isoformat()} 至 "
        f"{found.span.last.isoformat()}）"
    )
    lines = {"按网格": found.grids, "按党员": found.members}
    for name, columns in _SHEETS:
        sheet: Any = book.create_sheet(name)
        for index, (_, width) in enumerate(columns):
            sheet.column_dimensions[get_column_letter(index + 1)].width = width
        sheet.freeze_panes = "A3"
        heading = WriteOnlyCell(sheet, title)
        heading.font = Font(bold=True, size=14)
        sheet.append([heading])
        headers = []
        for header, _ in columns:
            cell = WriteOnlyCell(sheet, header)
            cell.font = Font(bold=True)
            headers.append(cell)
        sheet.append(headers)
        if name in lines:
            for line in lines[name]:
                rate = WriteOnlyCell(sheet, line.rate)
                rate.number_format = "0.0%"
                sheet.append([line.name, line.households, line.visited, line.not_visited, rate])
            continue
        for door in found.unvisited:
            last = None
            if door.last_visited_at is not None:
                last = WriteOnlyCell(
                    sheet, door.last_visited_at.astimezone(LOCAL_TIME).replace(tzinfo=None)
                )
                last.number_format = "yyyy-mm-dd hh:mm"
            sheet.append([door.place_name, door.label, door.member_name or "", last])
    # The caller sends the file and closes it.
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    book.save(out)
    out.seek(0)
    return out
