"""The certificate as an A4 PDF, in Chinese, drawn on the server.

The text is set in STSong-Light, one of the CJK fonts every PDF reader carries (Adobe's
Asian font packs, pdf.js, PDFium, Poppler): reportlab names it without embedding it,
so no font file ships with Lianxin and the quick start stays pip-only. The QR code is
drawn as vector squares, sharp at any print size."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from xml.sax.saxutils import escape

import qrcode
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable
from sqlalchemy.orm import Session

from points.access import Actor
from points.certificates import verify_link
from points.rules import Category
from service.certificates.issuing import certificate_for_reader
from service.certificates.models import Certificate

FONT = "STSong-Light"
ORDINANCE = "《志愿服务记录与证明出具办法》（民政部令第67号）"


@cache
def _font() -> str:
    # Registered once per process, on first use rather than at import.
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    return {
        "title": ParagraphStyle(
            "title", fontName=font, fontSize=26, leading=34, alignment=TA_CENTER
        ),
        "number": ParagraphStyle(
            "number", fontName=font, fontSize=10, leading=14, alignment=TA_RIGHT
        ),
        "body": ParagraphStyle("body", fontName=font, fontSize=12, leading=22, firstLineIndent=24),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=9, leading=12),
        "small": ParagraphStyle("small", fontName=font, fontSize=9, leading=13),
        "sign": ParagraphStyle("sign", fontName=font, fontSize=12, leading=20, alignment=TA_RIGHT),
    }


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def hours_text(hours: Decimal) -> str:
    return f"{hours.quantize(Decimal('0.01'))}"


def _category(value: str) -> str:
    try:
        return Category(value).label
    except ValueError:
        return value


def qr_drawing(data: str, size: float) -> Drawing:
    code = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    cell = size / len(matrix)
    drawing = Drawing(size, size)
    for row, line in enumerate(matrix):
        for column, dark in enumerate(line):
            if dark:
                y = size - (row + 1) * cell
                drawing.add(
                    Rect(column * cell, y, cell, cell, fillColor=colors.black, strokeWidth=0)
                )
    return drawing


@dataclass(frozen=True)
class Document:
    file_name: str
    content: bytes


def certificate_document(session: Session, actor: Actor, number: str, base_url: str) -> Document:
    """The certificate's PDF, for those who may read it (see certificate_for_reader)."""
    certificate = certificate_for_reader(session, actor, number)
    link = verify_link(base_url, certificate.number)
    return Document(f"{certificate.number}.pdf", render_certificate(certificate, link))


def render_certificate(certificate: Certificate, verify_url: str) -> bytes:
    styles = _styles()
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=22 * mm,
        title=f"志愿服务证明 {certificate.number}",
        author=certificate.issuer_name,
        subject="志愿服务证明",
    )
    contact = f"（手机号 {certificate.holder_contact}）" if certificate.holder_contact else ""
    story: list[Flowable] = [
        Paragraph(f"证明编号：{certificate.number}", styles["number"]),
        Spacer(1, 6 * mm),
        Paragraph("志愿服务证明", styles["title"]),
        Spacer(1, 8 * mm),
        Paragraph(
            f"兹证明志愿者 {escape(certificate.holder_name)}{contact}于"
            f" {chinese_date(certificate.first_day)} 至 {chinese_date(certificate.last_day)}"
            f" 期间参加志愿服务 {certificate.service_count} 次，"
            f"累计志愿服务时长 {hours_text(certificate.total_hours)} 小时"
            f"{_entered_apart(certificate)}。服务记录如下：",
            styles["body"],
        ),
        Spacer(1, 4 * mm),
        _services_table(certificate, styles),
        Spacer(1, 10 * mm),
        Paragraph(f"出具组织：{escape(certificate.issuer_name)}", styles["sign"]),
        Paragraph(f"出具日期：{chinese_date(certificate.issued_on)}", styles["sign"]),
        Spacer(1, 10 * mm),
        _verification(certificate, verify_url, styles),
    ]
    footer = _footer(certificate.number)
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _entered_apart(certificate: Certificate) -> str:
    """Hours entered by staff after the fact (补录) are stated apart from the verified."""
    if not certificate.entered_hours:
        return ""
    return (
        f"（其中签到核验 {hours_text(certificate.verified_hours)} 小时，"
        f"补录 {hours_text(certificate.entered_hours)} 小时）"
    )


def _services_table(certificate: Certificate, styles: dict[str, ParagraphStyle]) -> Table:
    cell = styles["cell"]
    header = ["序号", "服务日期", "服务项目", "类别", "组织", "服务地点", "时长（小时）"]
    rows: list[list[object]] = [[Paragraph(text, cell) for text in header]]
    for service in certificate.services:
        rows.append(
            [
                str(service.position),
                service.served_on.isoformat(),
                Paragraph(
                    escape(service.title) + ("（补录）" if service.manual_entry else ""), cell
                ),
                _category(service.category),
                Paragraph(escape(service.organisation), cell),
                Paragraph(escape(service.place), cell),
                hours_text(service.hours),
            ]
        )
    rows.append(["", "", Paragraph("合计", cell), "", "", "", hours_text(certificate.total_hours)])
    widths = [w * mm for w in (12, 22, 38, 15, 27, 31, 25)]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), _font(), 9),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#F2E6E6")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (-1, 0), (-1, -1), "RIGHT"),
                ("SPAN", (0, -1), (1, -1)),
            ]
        )
    )
    return table


def _verification(
    certificate: Certificate, verify_url: str, styles: dict[str, ParagraphStyle]
) -> Table:
    words = Paragraph(
        "真伪查验：扫描右侧二维码，或访问<br/>"
        f"{escape(verify_url)}<br/>"
        f"输入证明编号 {certificate.number} 查验本证明及其时长合计。<br/>"
        f"本证明依据{ORDINANCE}出具，服务记录以连心平台审核通过的记录为准。",
        styles["small"],
    )
    table = Table([[words, qr_drawing(verify_url, 30 * mm)]], colWidths=[130 * mm, 40 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _footer(number: str) -> Callable[[Canvas, SimpleDocTemplate], None]:
    """Each page names the certificate, so a page apart from the first still says
    whose record it is."""

    def draw(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(_font(), 8)
        canvas.drawCentredString(
            A4[0] / 2, 12 * mm, f"志愿服务证明 {number} · 第 {document.page} 页"
        )
        canvas.restoreState()

    return draw
