"""Reports as the files handed upwards: an XLSX workbook (one sheet per section, a
title naming the scope and period, Chinese headers frozen above the rows, numbers
formatted as counts, hours, shares and means) and a CSV of the main table.

A report is a few hundred cells, so the workbook is built in memory (openpyxl's
normal mode, which can freeze panes and merge the title) and saved to a temporary
file the response streams from.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from points.reports import DECIMALS, FIGURES, RATIOS
from service.reports.league import League
from service.reports.summary import Section, Summary

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"

_COUNT, _HOURS, _SHARE, _MEAN = "#,##0", "#,##0.00", "0.00%", "0.00"


@dataclass(frozen=True)
class ReportFile:
    file: IO[bytes]
    file_name: str
    mimetype: str


def number_format(figure: str) -> str:
    if figure == "acknowledge_rate":
        return _SHARE
    if figure in RATIOS:
        return _MEAN
    return _HOURS if figure in DECIMALS else _COUNT


def summary_workbook(summary: Summary) -> ReportFile:
    book = Workbook()
    main = book.active
    assert main is not None  # a new workbook has its first sheet
    main.title = "总表"
    _figures_sheet(main, summary.title, summary.own)
    for title, columns, rows in _breakdowns(summary.own):
        _table(book.create_sheet(title), summary.title, columns, rows)
    volunteers = [
        (rank, v.name, v.hours, v.participations)
        for rank, v in enumerate(summary.own.top_volunteers, start=1)
    ]
    _table(
        book.create_sheet("志愿者排行"),
        summary.title,
        [("名次", _COUNT), ("姓名", None), ("服务时长（小时）", _HOURS), ("参与次数", _COUNT)],
        volunteers,
    )
    if summary.paired:
        # 百部联百村: each paired community apart, side by side, never added together.
        names = [(section.name, None) for section in summary.paired]
        side_by_side = [
            (label, *(section.figures.get(name) for section in summary.paired))
            for name, label in FIGURES.items()
        ]
        sheet = book.create_sheet("结对社区")
        _table(sheet, summary.title, [("指标", None), *names], side_by_side)
        _format_by_figure(sheet, first_column=2, columns=len(summary.paired))
    return _saved(book, f"{summary.title}.xlsx")


def league_workbook(league: League) -> ReportFile:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "排名"
    columns = [("名次", _COUNT), ("名称", None)] + [
        (label, number_format(name)) for name, label in FIGURES.items()
    ]
    rows = [
        (rank, row.name, *(row.figures.get(name) for name in FIGURES))
        for rank, row in enumerate(league.rows, start=1)
    ]
    _table(sheet, league.title, columns, rows)
    return _saved(book, f"{league.title}.xlsx")


SUMMARY_CSV_HEADERS = ("指标", "代码", "本期", "上期", "变化")


def summary_csv(summary: Summary) -> ReportFile:
    """The main table: a row per figure, this period, the one before and the change."""
    section = summary.own
    rows = [
        (
            label,
            name,
            section.figures.get(name),
            section.previous.get(name),
            section.change.get(name),
        )
        for name, label in FIGURES.items()
    ]
    return _csv(f"{summary.title}.csv", SUMMARY_CSV_HEADERS, rows)


def league_csv(league: League) -> ReportFile:
    headers = ("名称", *FIGURES.values())
    rows = [(row.name, *(row.figures.get(name) for name in FIGURES)) for row in league.rows]
    return _csv(f"{league.title}.csv", headers, rows)


def _csv(name: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> ReportFile:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    # With a byte-order mark, Excel opens the Chinese as UTF-8 rather than GBK.
    return ReportFile(io.BytesIO(text.getvalue().encode("utf-8-sig")), name, CSV)


def _figures_sheet(sheet: Worksheet, title: str, section: Section) -> None:
    columns = [("指标", None), ("本期", None), ("上期", None), ("变化", None)]
    rows = [
        (label, section.figures.get(name), section.previous.get(name), section.change.get(name))
        for name, label in FIGURES.items()
    ]
    _table(sheet, title, columns, rows)
    _format_by_figure(sheet, first_column=2, columns=3)


def _format_by_figure(sheet: Worksheet, *, first_column: int, columns: int) -> None:
    """Rows are figures here, so the number format goes by row, not by column."""
    for offset, name in enumerate(FIGURES):
        for column in range(first_column, first_column + columns):
            sheet.cell(row=3 + offset, column=column).number_format = number_format(name)


def _breakdowns(section: Section) -> list[tuple[str, list[tuple[str, str | None]], list[Any]]]:
    counted = section.counted
    tasks = [("发布任务数", _COUNT), ("完成任务数", _COUNT)]
    return [
        (
            "八微分类",
            [("类别", None), *tasks],
            [(c["label"], c["published"], c["completed"]) for c in counted.tasks_by_category],
        ),
        (
            "任务类型",
            [("类型", None), *tasks],
            [(t["label"], t["published"], t["completed"]) for t in counted.tasks_by_type],
        ),
        (
            "诉求分级",
            [("层级", None), ("收到", _COUNT), ("办结", _COUNT), ("按时办结", _COUNT)],
            [
                (d["label"], d["received"], d["closed"], d["closed_on_time"])
                for d in counted.demands_by_level
            ],
        ),
        (
            "评价分布",
            [("评分", _COUNT), ("评价数", _COUNT)],
            [(r["score"], r["count"]) for r in counted.rating_distribution],
        ),
        (
            "服务评价分布",
            [("评分", _COUNT), ("评价数", _COUNT)],
            [(r["score"], r["count"]) for r in counted.work_rating_distribution],
        ),
    ]


def _table(
    sheet: Worksheet,
    title: str,
    columns: Sequence[tuple[str, str | None]],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Row 1 the title across the table, row 2 the headers (frozen), then the rows."""
    sheet.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    if len(columns) > 1:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    for index, (header, _) in enumerate(columns, start=1):
        cell = sheet.cell(row=2, column=index, value=header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
        width = 24 if index == 1 else max(12, len(header) * 2 + 2)
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row_index, row in enumerate(rows, start=3):
        for index, value in enumerate(row, start=1):
            cell = sheet.cell(row=row_index, column=index, value=value)
            number = columns[index - 1][1]
            if number is not None:
                cell.number_format = number
    sheet.freeze_panes = "A3"


def _saved(book: Workbook, name: str) -> ReportFile:
    # The caller sends the file and closes it: no context manager here.
    out = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)  # noqa: SIM115
    book.save(out)
    out.seek(0)
    return ReportFile(out, name, XLSX)
