"""What a station handed out, per day (Beijing time) and item, as CSV or XLSX."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from points.access import Action, Actor
from points.calendar import local_date
from points.errors import InvalidInput
from points.redemption import RedemptionStatus
from service.stations.catalogue import station_for
from service.stations.models import Redemption

MAX_DAYS = 366
HEADER = ("date", "item_id", "item", "quantity", "amount", "currency", "redemptions")


class ReportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True)
class ReportLine:
    day: date
    item_id: int
    item_name: str
    quantity: int
    amount: int
    currency: str
    redemptions: int


@dataclass(frozen=True)
class ReportFile:
    filename: str
    mimetype: str
    content: bytes


def handed_out(
    session: Session, actor: Actor, station_id: int, start: datetime, end: datetime
) -> list[ReportLine]:
    if end <= start:
        raise InvalidInput("the report ends after it starts", errors={"to": ["before from"]})
    if (end - start).days > MAX_DAYS:
        raise InvalidInput("a report covers at most a year", errors={"to": ["too far from from"]})
    station = station_for(session, actor, station_id, Action.VIEW_STATION_REPORTS)
    lines: dict[tuple[date, int], ReportLine] = {}
    rows = session.execute(
        select(
            Redemption.fulfilled_at,
            Redemption.item_id,
            Redemption.item_name,
            Redemption.quantity,
            Redemption.amount,
            Redemption.currency,
        )
        .where(
            Redemption.station_id == station.id,
            Redemption.status == RedemptionStatus.FULFILLED.value,
            Redemption.fulfilled_at >= start,
            Redemption.fulfilled_at < end,
        )
        .order_by(Redemption.fulfilled_at)
    )
    for fulfilled_at, item_id, name, quantity, amount, currency in rows:
        assert fulfilled_at is not None  # the WHERE compares it
        day = local_date(fulfilled_at)
        before = lines.get((day, item_id), ReportLine(day, item_id, name, 0, 0, currency, 0))
        lines[day, item_id] = replace(
            before,
            quantity=before.quantity + quantity,
            amount=before.amount + amount,
            redemptions=before.redemptions + 1,
        )
    return [lines[key] for key in sorted(lines)]


def _cells(line: ReportLine) -> list[object]:
    return [
        line.day.isoformat(),
        line.item_id,
        line.item_name,
        line.quantity,
        line.amount,
        line.currency,
        line.redemptions,
    ]


def render(lines: list[ReportLine], fmt: ReportFormat, station_id: int) -> ReportFile:
    name = f"station-{station_id}-handed-out"
    if fmt is ReportFormat.CSV:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(HEADER)
        writer.writerows(_cells(line) for line in lines)
        # A BOM so Excel, as used in community offices, reads the Chinese names right.
        return ReportFile(f"{name}.csv", "text/csv", ("\ufeff" + text.getvalue()).encode())
    book = Workbook(write_only=True)
    sheet = book.create_sheet("handed out")
    sheet.append(list(HEADER))
    for line in lines:
        sheet.append(_cells(line))
    out = io.BytesIO()
    book.save(out)
    return ReportFile(
        f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        out.getvalue(),
    )


def station_report(
    session: Session,
    actor: Actor,
    station_id: int,
    start: datetime,
    end: datetime,
    fmt: ReportFormat,
) -> ReportFile:
    return render(handed_out(session, actor, station_id, start, end), fmt, station_id)
