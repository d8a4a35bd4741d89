"""Rows in, a report out: reading CSV and XLSX sheets for the imports.

Headers are matched loosely (case, spaces, a trailing ``*`` marking a required
column, and the Chinese names offices actually use), so a roster exported from a
community's Excel sheet imports without being retyped. A cell is text as the API takes
it (points/text.py): each importer reads a row through ``clean_cells``, so a cell with
a control character rejects its row rather than reaching the database.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from points.errors import InvalidInput, TooLarge
from points.text import TextKind, clean_text

Row = tuple[int, dict[str, str]]
OnRow = Callable[[int], None]

ALIASES = {
    "name": ("姓名", "名字"),
    "phone": ("手机", "手机号", "手机号码", "电话", "联系电话", "mobile"),
    "branch": ("支部", "所在支部", "党支部", "所在党支部"),
    "residence": ("居住地", "住址", "所在社区", "网格", "所在网格", "居住社区"),
    "role": ("角色", "身份"),
    "path": ("路径",),
    "level": ("层级", "级别"),
    "amount": ("数量", "分值", "奖励数", "积分数"),
    "currency": ("币种", "类型", "奖励类型"),
    "reason": ("事由", "原因", "理由", "奖励事由"),
    "label": ("门牌", "门牌号", "户号", "房号"),
    "head_name": ("户主", "户主姓名"),
    "needs": ("需求", "情况", "特殊情况", "困难情况"),
}
_CANONICAL = {alias: key for key, aliases in ALIASES.items() for alias in (key, *aliases)}
# Cells that may wrap (Alt+Enter in Excel), as the API's multi-line fields do.
MULTILINE_COLUMNS = frozenset({"needs"})
# A title row (e.g. "幸福社区党员花名册") may sit above the header in office sheets.
_HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True)
class RowError:
    row: int
    message: str
    field: str | None = None


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Landed:
    row: int
    outcome: Outcome


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    landed: list[Landed] = field(default_factory=list)  # each good row, in file order

    @property
    def rejected(self) -> int:
        return len({error.row for error in self.errors})

    def count(self, outcome: Outcome, row: int) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)
        self.landed.append(Landed(row, outcome))

    def reject(self, row: int, error: InvalidInput) -> None:
        fields = list(error.errors)
        self.errors.append(RowError(row, error.message, fields[0] if fields else None))


@dataclass(frozen=True)
class Sheet:
    rows: Iterator[Row]
    # Data rows the file says it holds (blank ones included), when cheap to know.
    total: int | None


def canonical_header(raw: str) -> str:
    text = raw.replace("\u3000", " ").strip().rstrip("*＊:：").strip().lower()
    return _CANONICAL.get(text, text)


def cell_text(value: Any) -> str:
    # Excel stores a phone typed as a number as a float; 13800001234.0 must read as digits.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        return ""
    return str(value).strip()


def clean_cells(record: dict[str, str]) -> dict[str, str]:
    """The row's cells as Lianxin stores text, or InvalidText naming the first column
    whose cell holds what no text may. Columns no import reads (a 备注 of notes, say)
    are left as they are: nothing stores them."""
    return {
        column: clean_text(value, _kind(column), column) if column in ALIASES else value
        for column, value in record.items()
    }


def _kind(column: str) -> TextKind:
    return TextKind.MULTILINE if column in MULTILINE_COLUMNS else TextKind.LINE


def chunked(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


class NotASpreadsheet(InvalidInput):
    """The file is no CSV or XLSX the imports can read."""

    code = "not_a_spreadsheet"


class MissingColumns(InvalidInput):
    """The sheet has no header row with the columns the import needs."""

    code = "missing_columns"


class TooManyRows(TooLarge):
    code = "too_many_rows"


_ZIP = b"PK\x03\x04"  # XLSX is a zip of XML parts
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls
_SNIFF = 8192


@contextmanager
def open_sheet(path: Path, required: Collection[str]) -> Iterator[Sheet]:
    """The data rows of a CSV file or of an XLSX workbook's first sheet, numbered as
    the spreadsheet numbers them. Raises InvalidInput before yielding any row if the
    file can't be read or lacks a required column."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield _csv_sheet(path.read_bytes(), required)
    elif suffix in (".xlsx", ".xlsm"):
        with _xlsx_sheet(path, required) as sheet:
            yield sheet
    else:
        raise NotASpreadsheet("expected a .csv or .xlsx file (save .xls as .xlsx)")


def read_upload(data: bytes, required: Collection[str], max_rows: int) -> list[Row]:
    """The data rows of an uploaded CSV or XLSX file, recognised by its content (not
    its name), read whole before anything is imported: a file that can't be read, or
    holds more than ``max_rows`` rows, is refused before any row lands."""
    if data.startswith(_OLE2):
        raise NotASpreadsheet("this is an old .xls workbook; save it as .xlsx and upload again")
    if data.startswith(_ZIP):
        try:
            with _xlsx_sheet(io.BytesIO(data), required) as sheet:
                return _at_most(sheet.rows, max_rows)
        except (InvalidInput, TooLarge):
            raise
        except Exception as error:  # an untrusted file, read by openpyxl: anything goes
            raise NotASpreadsheet(f"not a readable XLSX workbook ({error})") from None
    head = data[:_SNIFF]
    if b"\x00" in head or any(byte < 0x20 and byte not in b"\t\n\r" for byte in head):
        raise NotASpreadsheet("this file is neither a CSV text nor an XLSX workbook")
    return _at_most(_csv_sheet(data, required).rows, max_rows)


def _at_most(rows: Iterator[Row], max_rows: int) -> list[Row]:
    kept = list(islice(rows, max_rows + 1))
    if len(kept) > max_rows:
        raise TooManyRows(
            f"at most {max_rows:,} rows per upload; split the file, "
            "or import it at the console (lianxin import)"
        )
    return kept


def _csv_sheet(data: bytes, required: Collection[str]) -> Sheet:
    try:
        records = list(csv.reader(io.StringIO(_decode(data), newline="")))
    except csv.Error as error:
        raise NotASpreadsheet(f"not a readable CSV file ({error})") from None
    return _table(enumerate(records, start=1), required, len(records))


@contextmanager
def _xlsx_sheet(source: Path | IO[bytes], required: Collection[str]) -> Iterator[Sheet]:
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        raise NotASpreadsheet(f"not a readable XLSX workbook ({error})") from None
    try:
        sheet = workbook.worksheets[0]
        total = sheet.max_row
        # Some exporters write a wrong sheet size; read every row whatever it says.
        sheet.reset_dimensions()
        values = sheet.iter_rows(values_only=True)
        yield _table(enumerate(values, start=1), required, total)
    finally:
        workbook.close()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Chinese Windows saves CSV as GBK, of which GB18030 is a superset.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise NotASpreadsheet("the CSV file is neither UTF-8 nor GB18030/GBK text") from None


def _table(
    numbered: Iterator[tuple[int, Iterable[Any]]], required: Collection[str], total: int | None
) -> Sheet:
    first: list[str] | None = None
    for number, cells in numbered:
        texts = [cell_text(value) for value in cells]
        if not any(texts):
            continue
        header = [canonical_header(text) for text in texts]
        first = first or header
        if set(required) <= set(header):
            return Sheet(_records(numbered, _columns(header)), _data_rows(total, number))
        if number >= _HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise MissingColumns("the file has no header row")
    missing = ", ".join(key for key in required if key not in first)
    raise MissingColumns(f"missing required column(s): {missing}")


def _columns(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, key in enumerate(header):
        if key in columns and key in ALIASES:
            raise InvalidInput(f"two columns mean {key!r}; keep one")
        if key:
            columns.setdefault(key, index)
    return columns


def _records(
    numbered: Iterator[tuple[int, Iterable[Any]]], columns: dict[str, int]
) -> Iterator[Row]:
    for number, cells in numbered:
        texts = [cell_text(value) for value in cells]
        if any(texts):
            yield number, {key: texts[i] if i < len(texts) else "" for key, i in columns.items()}


def _data_rows(total: int | None, header_row: int) -> int | None:
    return total - header_row if total is not None and total > header_row else None
