"""The boards: which exist (a currency, a scope and a period's label) and their keys."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import redis

from points.calendar import local_date
from points.leaderboard import (
    Period,
    Scope,
    board_key,
    labels_of,
    period_of,
    recent_labels,
)
from service.leaderboards.store import Scripts, scripts
from service.ledger.earnings import OutboxRow

log = logging.getLogger(__name__)

CHUNK = 5_000  # members per ZADD while writing a rebuilt board


@dataclass(frozen=True)
class Board:
    currency: str
    scope: Scope
    label: str

    @property
    def period(self) -> Period:
        return period_of(self.label)


@dataclass
class Boards:
    """The Redis side of the leaderboards: one client, the key prefix, what to keep."""

    client: redis.Redis
    prefix: str
    keep_periods: int

    def __post_init__(self) -> None:
        self.scripts: Scripts = scripts(self.client)
        self._kept: tuple[date, dict[Period, set[str]]] | None = None

    def key(self, board: Board) -> str:
        return board_key(self.prefix, board.currency, board.scope, board.label)

    def kept_labels(self, today: date) -> dict[Period, set[str]]:
        # The same all day long: worked out once a day, not once an event.
        kept = self._kept
        if kept is None or kept[0] != today:
            kept = self._kept = (
                today,
                {p: set(recent_labels(p, today, self.keep_periods)) for p in Period},
            )
        return kept[1]


def boards_of_event(
    event: OutboxRow, scopes: Sequence[Scope], kept: dict[Period, set[str]]
) -> list[Board]:
    """The boards one event counts on; periods already pruned are left alone."""
    return [
        Board(event.currency, scope, label)
        for period, label in labels_of(local_date(event.earned_at)).items()
        if label in kept[period]
        for scope in scopes
    ]
