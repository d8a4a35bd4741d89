"""三个清单 as the spreadsheet staff hand upwards: one sheet, a title naming the place
and the period, Chinese headers frozen above the rows, dates as dates.

Written row by row (openpyxl's write-only mode) into a temporary file, so a street's
hundred thousand demands never sit in memory as cells.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.orm import Session

from points.access import Actor
from points.calendar import LOCAL_TIME, local_date
from points.demands import (
    LEVEL_LABELS,
    OWNER_LABELS,
    STATUS_LABELS,
    DemandLevel,
    DemandStatus,
    OwnerKind,
)
from points.rules import Category
from service.demands.lists import DemandList, ListFilter, ListRow, every_row
from service.places.tree import named_place

Column = tuple[str, Callable[[ListRow], Any], int]  # header, value, width

_TITLES = {
    DemandList.PROBLEMS: "问题清单",
    DemandList.TASKS: "任务清单",
    DemandList.EFFECTS: "效果清单",
}


def _when(moment: datetime | None) -> datetime | None:
    # Local wall time, without a zone: spreadsheets keep no time zones.
    return moment.astimezone(LOCAL_TIME).replace(tzinfo=None) if moment else None


def _status(row: ListRow) -> str:
    return STATUS_LABELS[DemandStatus(row.status)]


def _level(row: ListRow) -> str:
    return LEVEL_LABELS[DemandLevel(row.level)] if row.level else ""


def _owner(row: ListRow) -> str:
    kind = OWNER_LABELS[OwnerKind(row.owner_kind)] if row.owner_kind else ""
    return f"{kind}：{row.owner}" if row.owner else kind


def _category(row: ListRow) -> str:
    return Category(row.category).label


_ID: Column = ("编号", lambda r: r.id, 8)
_PLACE: Column = ("所在地", lambda r: r.place, 14)
_CATEGORY: Column = ("类别", _category, 8)
COLUMNS: dict[DemandList, list[Column]] = {
    DemandList.PROBLEMS: [
        _ID,
        ("提交时间", lambda r: _when(r.created_at), 17),
        _PLACE,
        _CATEGORY,
        ("问题描述", lambda r: r.description, 40),
        ("状态", _status, 9),
        ("层级", _level, 6),
        ("责任方", _owner, 20),
        ("当前期限", lambda r: _when(r.due_at), 17),
        ("是否超期", lambda r: "是" if r.overdue else "", 8),
    ],
    DemandList.TASKS: [
        _ID,
        _PLACE,
        _CATEGORY,
        ("层级", _level, 6),
        ("责任方", _owner, 20),
        ("交办时间", lambda r: _when(r.assigned_at), 17),
        ("办结期限", lambda r: _when(r.resolve_due_at), 17),
        ("反馈时间", lambda r: _when(r.resolved_at), 17),
        ("状态", _status, 9),
        ("是否超期", lambda r: "是" if r.overdue else "", 8),
    ],
    DemandList.EFFECTS: [
        _ID,
        _PLACE,
        _CATEGORY,
        ("办理结果", lambda r: r.resolution or "", 40),
        ("公示内容", lambda r: r.public_summary or "", 30),
        ("反馈时间", lambda r: _when(r.resolved_at), 17),
        ("销号时间", lambda r: _when(r.closed_at), 17),
        ("群众评价", lambda r: r.rating, 8),
        ("评价意见", lambda r: r.rating_comment or "", 30),
    ],
}
_DATE_FORMAT = "yyyy-mm-dd hh:mm"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Spreadsheet:
    file: IO[bytes]
    file_name: str


def export_list(
    session: Session,
    actor: Actor,
    which: DemandList,
    wanted: ListFilter,
    now: datetime,
    progress: Callable[[], None] | None = None,
) -> Spreadsheet:
    """The whole list for the actor, as the spreadsheet and the name to save it under."""
    place = named_place(session, wanted.place_id).name if wanted.place_id else "全部"
    first = wanted.first.isoformat() if wanted.first else "开始"
    last = wanted.last.isoformat() if wanted.last else local_date(now).isoformat()
    rows = every_row(session, actor, which, wanted, now)
    file = write_list(which, rows, f"{place} {first} 至 {last}", progress)
    return Spreadsheet(file, f"{_TITLES[which]}-{place}-{first}-{last}.xlsx")


def write_list(
    which: DemandList,
    rows: Iterable[ListRow],
    subtitle: str,
    progress: Callable[[], None] | None = None,
) -> IO[bytes]:
    """The list as an .xlsx file, rewound, ready to send; ``progress`` is called per row."""
    book = Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = book.create_sheet(_TITLES[which])
    columns = COLUMNS[which]
    for index, (_, _, width) in enumerate(columns):
        # The stubs miss what write-only sheets borrow from Worksheet (widths, panes).
        sheet.column_dimensions[get_column_letter(index + 1)].width = width  # type: ignore[attr-defined]
    sheet.freeze_panes = "A3"  # the title and the headers stay in view
    title = WriteOnlyCell(sheet, f"{_TITLES[which]}（{subtitle}）")
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    headers = []
    for header, _, _ in columns:
        cell = WriteOnlyCell(sheet, header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
        headers.append(cell)
    sheet.append(headers)
    for row in rows:
        values = []
        for _, value_of, _ in columns:
            value = value_of(row)
            if isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value)
                cell.number_format = _DATE_FORMAT
                values.append(cell)
            else:
                values.append(value)
        sheet.append(values)
        if progress is not None:
            progress()
    # The caller sends the file and closes it: no context manager here.
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    book.save(out)
    out.seek(0)
    return out
