"""The paper pickup slip (取货单): for a resident with no phone to show a code on, the
redemption's code printed small — item, station, code, until when — to hand to the
clerk, who enters the code as any other. The slip only carries the code; the code is
good once, and the clerk's counter refuses it after."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy.orm import Session

from points.access import Action, Actor, can
from points.calendar import LOCAL_TIME
from points.errors import Conflict, NotFound
from points.redemption import RedemptionStatus
from service.organisation.models import Station
from service.people.admin import person_target
from service.people.models import User
from service.proxies.acting import running_link
from service.stations.models import Redemption

# One of the CJK fonts every PDF reader carries: named, not embedded.
FONT = "STSong-Light"


class NotHeld(Conflict):
    code = "redemption_not_held"


@cache
def _font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


@dataclass(frozen=True)
class Slip:
    file_name: str
    content: bytes


def _may_print(session: Session, actor: Actor, redemption: Redemption, now: datetime) -> bool:
    """The redeemer, whoever acts for them now, or staff looking after them."""
    if actor.user_id == redemption.user_id:
        return True
    if running_link(session, actor.user_id, redemption.user_id, now) is not None:
        return True
    owner = session.get(User, redemption.user_id)
    return owner is not None and can(actor, Action.VIEW_PEOPLE, person_target(session, owner))


def pickup_slip(session: Session, actor: Actor, redemption_id: int, now: datetime) -> Slip:
    redemption = session.get(Redemption, redemption_id)
    if redemption is None or not _may_print(session, actor, redemption, now):
        raise NotFound("redemption not found")
    if redemption.status != RedemptionStatus.HELD.value or redemption.expires_at <= now:
        raise NotHeld("only a redemption waiting for pickup has a slip to print")
    station = session.get(Station, redemption.station_id)
    owner = session.get(User, redemption.user_id)
    proxy = session.get(User, redemption.acted_by_id) if redemption.acted_by_id else None
    assert station is not None  # foreign keys
    assert owner is not None
    content = render_slip(
        redemption,
        station_name=station.name,
        station_address=station.address,
        owner_name=owner.name,
        proxy_name=proxy.name if proxy else None,
    )
    return Slip(f"pickup-slip-{redemption.id}.pdf", content)


def render_slip(
    redemption: Redemption,
    *,
    station_name: str,
    station_address: str,
    owner_name: str,
    proxy_name: str | None,
) -> bytes:
    font = _font()
    out = io.BytesIO()
    _, height = A6
    canvas = Canvas(out, pagesize=A6)
    canvas.setTitle(f"取货单 {redemption.id}")
    left, y = 10 * mm, height - 16 * mm

    def line(text: str, size: int = 11, gap: float = 7) -> None:
        nonlocal y
        canvas.setFont(font, size)
        canvas.drawString(left, y, text)
        y -= gap * mm

    line("连心 · 积分兑换取货单", 15, 10)
    line(f"兑换人：{owner_name}")
    if proxy_name:
        line(f"代办人：{proxy_name}")
    line(f"物品：{redemption.item_name} × {redemption.quantity}")
    line(f"驿站：{station_name}")
    if station_address:
        line(f"地址：{station_address}", 9, 6)
    line("取货码", 11, 12)
    canvas.setFont(font, 30)
    canvas.drawString(left, y, " ".join(redemption.pickup_code))
    y -= 12 * mm
    expires = redemption.expires_at.astimezone(LOCAL_TIME)
    line(f"请于 {expires:%Y-%m-%d %H:%M} 前到驿站取货", 10)
    line("凭码取货一次，取货后本单作废。", 9, 5)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
