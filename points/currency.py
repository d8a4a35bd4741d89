"""The two currencies: honour points (积分), which rank people and are never spent, and
spendable community coins (幸福币). A rule may award either or both."""

from __future__ import annotations

from enum import StrEnum


class Currency(StrEnum):
    JIFEN = "jifen"  # 积分: counts for ranking and the yearly evaluation, never spent
    XINGFUBI = "xingfubi"  # 幸福币: spent at stations

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {Currency.JIFEN: "积分", Currency.XINGFUBI: "幸福币"}
