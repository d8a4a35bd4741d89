"""What people are told, in words: the kinds of notice, the inbox text of each, and
WeChat's limits on the values of a subscribe message (订阅消息).

Facts are what a producer knows when the thing happens (a task's title, the points,
a pickup code); times travel as ISO 8601 strings so a notice survives being kept as
JSON in the outbox and shows in Beijing time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from points.calendar import LOCAL_TIME

Facts = Mapping[str, str | int]


class Topic(StrEnum):
    """A kind of notice. Its value is kept with every notification and named in each
    member's settings, so it never changes once notifications exist."""

    PARTICIPATION_APPROVED = "participation.approved"
    PARTICIPATION_REJECTED = "participation.rejected"
    PARTICIPATION_REVERSED = "participation.reversed"
    TASK_CANCELLED = "task.cancelled"
    TASK_EDITED = "task.edited"
    TASK_STARTING = "task.starting"
    PLACE_OFFERED = "task.place_offered"
    NO_SHOW = "task.no_show"
    REDEMPTION_HELD = "redemption.held"
    REDEMPTION_PICKED_UP = "redemption.picked_up"
    REDEMPTION_EXPIRING = "redemption.expiring"
    REDEMPTION_EXPIRED = "redemption.expired"
    POINTS_EXPIRING = "points.expiring"
    DEMAND_MOVED = "demand.moved"
    WHISTLE_DUE_SOON = "whistle.due_soon"
    WHISTLE_OVERDUE = "whistle.overdue"
    ADJUSTMENT_TO_CONFIRM = "adjustment.to_confirm"
    ENTRY_TO_CONFIRM = "participation.to_confirm"  # 补录 above the threshold


@dataclass(frozen=True, slots=True)
class Wording:
    title: str
    body: str


# str.format templates over the facts; a fact a template names must be given.
_WORDING: dict[Topic, tuple[str, str]] = {
    Topic.PARTICIPATION_APPROVED: (
        "服务已通过审核",
        "「{task_title}」通过审核：{points}。{explanation}",
    ),
    Topic.PARTICIPATION_REJECTED: ("服务未通过审核", "「{task_title}」未通过审核：{reason}"),
    Topic.PARTICIPATION_REVERSED: (
        "审核结果已撤销",
        "「{task_title}」的积分已收回：{points}。原因：{reason}",
    ),
    Topic.TASK_CANCELLED: ("活动已取消", "你报名的「{task_title}」已取消：{reason}"),
    Topic.TASK_EDITED: ("活动有变动", "你报名的「{task_title}」有改动：{changed}"),
    Topic.TASK_STARTING: (
        "活动一小时后开始",
        "「{task_title}」将于 {starts_at:time} 开始，地点：{address}",
    ),
    Topic.PLACE_OFFERED: (
        "候补到名额",
        "「{task_title}」有名额空出，请在 {expires_at:time} 前确认报名",
    ),
    Topic.NO_SHOW: (
        "未到场记录",
        "你报名的「{task_title}」已结束，你没有签到，记为未到场（不扣积分）。"
        "如有特殊情况，请向社区工作者说明",
    ),
    Topic.REDEMPTION_HELD: (
        "兑换成功，待领取",
        "{item_name} × {quantity}，取货码 {pickup_code}，请在 {expires_at:time} 前领取",
    ),
    Topic.REDEMPTION_PICKED_UP: ("已领取", "{item_name} × {quantity} 已领取"),
    Topic.REDEMPTION_EXPIRING: (
        "兑换明天到期",
        "{item_name} × {quantity} 将于 {expires_at:time} 到期，取货码 {pickup_code}",
    ),
    Topic.REDEMPTION_EXPIRED: (
        "兑换已过期",
        "{item_name} × {quantity} 未按时领取，已退回 {amount} 幸福币",
    ),
    Topic.POINTS_EXPIRING: (
        "幸福币即将到期",
        "{amount} 幸福币将于 {expires_at:date} 到期，记得使用",
    ),
    Topic.DEMAND_MOVED: ("诉求有进展", "你反映的诉求现在是「{status_name}」。{note}"),
    Topic.WHISTLE_DUE_SOON: ("吹哨报到即将超时", "诉求 #{demand_id} 须在 {due_at:time} 前报到"),
    Topic.WHISTLE_OVERDUE: ("吹哨报到已超时", "诉求 #{demand_id} 的报到期限 {due_at:time} 已过"),
    Topic.ADJUSTMENT_TO_CONFIRM: (
        "待你复核",
        "{member_name} 的{direction} {amount} 待第二人确认：{reason}",
    ),
    Topic.ENTRY_TO_CONFIRM: (
        "补录待你审核",
        "{member_name} 在「{task_title}」补录 {hours} 小时，待第二人审核：{reason}",
    ),
}


def local_time(value: str | int, with_time: bool = True) -> str:
    """An ISO moment as people here read it: 2026年12月4日 18:00 (Beijing time)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(LOCAL_TIME)
    day = f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{day} {moment:%H:%M}" if with_time else day


class _Shown(dict[str, object]):
    """Facts for str.format, where ``{at:time}`` and ``{at:date}`` show a moment locally."""

    def __init__(self, facts: Facts) -> None:
        super().__init__({name: _Fact(value) for name, value in facts.items()})


class _Fact:
    __slots__ = ("value",)

    def __init__(self, value: str | int) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        if spec in ("time", "date"):
            return local_time(self.value, with_time=spec == "time")
        return format(self.value, spec)


def wording(topic: Topic, facts: Facts) -> Wording:
    title, body = _WORDING[topic]
    return Wording(title, body.format_map(_Shown(facts)).strip())


# The most characters WeChat takes per value type of a template field (its key is the
# type and a number: thing1, time2). Longer values are refused whole (errcode 47003).
_LONGEST = {
    "thing": 20,
    "phrase": 5,
    "name": 10,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "phone_number": 17,
    "car_number": 8,
    "amount": 32,
}
_MOMENTS = {"time": True, "date": False}


def field_type(key: str) -> str:
    """``thing1`` → ``thing``; ``character_string3`` → ``character_string``."""
    return key.rstrip("0123456789")


def known_field(key: str) -> bool:
    return field_type(key) in _LONGEST or field_type(key) in _MOMENTS


def field_value(key: str, value: str | int) -> str:
    """``value`` fitted to what the field's type takes: moments in local time, numbers
    as digits, text cut to the type's length (an ellipsis says it was cut)."""
    kind = field_type(key)
    if kind in _MOMENTS:
        return local_time(value, with_time=_MOMENTS[kind])
    text = str(value)
    if kind == "number":
        text = "".join(ch for ch in text if ch.isdigit() or ch == ".") or "0"
    longest = _LONGEST.get(kind, 20)
    if len(text) <= longest:
        return text
    return text[: longest - 1] + "…" if kind in ("thing", "name") else text[:longest]
