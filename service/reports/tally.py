"""What a count adds up as it reads aggregate rows: each group's figures and
breakdowns per period, and the periods themselves as SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
)

from points.calendar import Span
from points.demands import LEVEL_LABELS, DemandLevel
from points.reports import DECIMALS, Figures
from points.rules import Category, TaskType
from service.demands.whistles import acknowledge_rate

PLACE_FIGURES = (
    "tasks_published",
    "tasks_completed",
    "demands_received",
    "demands_closed",
    "demands_closed_on_time",
    "ratings",
    "average_rating",
    "work_ratings",
    "average_work_rating",
)
WHISTLE_FIGURES = ("whistles_received", "whistles_acknowledged_on_time", "acknowledge_rate")
SCORES = range(1, 6)


@dataclass
class Counted:
    """One group's figures and the breakdowns behind them, as lists ready for charts."""

    figures: Figures
    tasks_by_category: list[dict[str, Any]] = field(default_factory=list)
    tasks_by_type: list[dict[str, Any]] = field(default_factory=list)
    demands_by_level: list[dict[str, Any]] = field(default_factory=list)
    rating_distribution: list[dict[str, Any]] = field(default_factory=list)
    work_rating_distribution: list[dict[str, Any]] = field(default_factory=list)
    top_volunteers: list[TopVolunteer] = field(default_factory=list)


@dataclass(frozen=True)
class TopVolunteer:
    user_id: int
    name: str
    hours: float
    participations: int


def within(column: Any, span: Span) -> ColumnElement[bool]:
    return and_(column >= span.starts_at, column < span.ends_at)


class Periods:
    """The spans a count covers, as SQL: which one a moment falls in (NULL for none),
    and one range over all of them for the WHERE, so an index on the moment serves."""

    def __init__(self, spans: Sequence[Span]) -> None:
        self.spans = spans

    def of(self, column: Any) -> ColumnElement[int]:
        return case(*[(within(column, span), i) for i, span in enumerate(self.spans)]).label(
            "period"
        )

    def over(self, column: Any) -> ColumnElement[bool]:
        first = min(span.starts_at for span in self.spans)
        end = max(span.ends_at for span in self.spans)
        return and_(column >= first, column < end)


def number_of(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class Tally:
    def __init__(self, keys: Iterable[int]) -> None:
        self.figures: dict[int, dict[str, Any]] = {key: defaultdict(int) for key in keys}
        self.categories: dict[int, dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0])
        )
        self.types: dict[int, dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0])
        )
        self.levels: dict[int, dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0, 0])
        )
        self.scores: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        # Ratings of task work: per score, and per task type [how many, their sum].
        self.work_scores: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.work_types: dict[int, dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0])
        )
        self.whistles: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.top: dict[int, list[TopVolunteer]] = defaultdict(list)

    def add(self, grp: int, name: str, value: int | float) -> None:
        if grp in self.figures:  # rows of a group the report doesn't show are dropped
            self.figures[grp][name] += value

    def finish(self, *, has_places: bool, has_whistles: bool) -> dict[int, Counted]:
        return {key: self._one(key, has_places, has_whistles) for key in self.figures}

    def _one(self, key: int, has_places: bool, has_whistles: bool) -> Counted:
        counted = self.figures[key]
        figures: Figures = {
            name: counted[name]
            for name in (
                "participations_approved",
                "volunteers",
                "volunteers_members",
                "volunteers_volunteers",
                "households_visited",
                "residents_helped",
                "jifen_issued",
                "xingfubi_issued",
                "xingfubi_redeemed",
                "jifen_expired",
                "xingfubi_expired",
            )
        }
        for name in DECIMALS:
            figures[name] = round(float(counted[name]), 2)
        received, due, on_time = self.whistles[key]
        figures["whistles_received"] = received
        figures["whistles_acknowledged_on_time"] = on_time
        figures["acknowledge_rate"] = acknowledge_rate(on_time, due)
        scores = self.scores[key]
        rated = sum(scores.values())
        figures["ratings"] = rated
        figures["average_rating"] = _mean(scores)
        work_scores = self.work_scores[key]
        work_rated = sum(work_scores.values())
        figures["work_ratings"] = work_rated
        figures["average_work_rating"] = _mean(work_scores)
        for name in ("tasks_published", "tasks_completed", "demands_received"):
            figures[name] = counted[name]
        figures["demands_closed"] = counted["demands_closed"]
        figures["demands_closed_on_time"] = counted["demands_closed_on_time"]
        if not has_places:
            for name in PLACE_FIGURES:
                figures[name] = None
        if not has_whistles:
            for name in WHISTLE_FIGURES:
                figures[name] = None
        categories, types, levels = self.categories[key], self.types[key], self.levels[key]
        rated_types = self.work_types[key]
        return Counted(
            figures=figures,
            tasks_by_category=[
                {"category": c.value, "label": c.label, "published": p, "completed": d}
                for c in Category
                for p, d in [categories.get(c.value, [0, 0])]
            ],
            tasks_by_type=[
                {
                    "type": t.value,
                    "label": t.label,
                    "published": p,
                    "completed": d,
                    "work_ratings": n,
                    "average_work_rating": round(total / n, 2) if n else None,
                }
                for t in TaskType
                for p, d in [types.get(t.value, [0, 0])]
                for n, total in [rated_types.get(t.value, [0, 0])]
            ],
            demands_by_level=[
                {
                    "level": level,
                    "label": LEVEL_LABELS[DemandLevel(level)] if level else "未分级",
                    "received": r,
                    "closed": c,
                    "closed_on_time": o,
                }
                for level in [*(lv.value for lv in DemandLevel), ""]
                for r, c, o in [levels.get(level, [0, 0, 0])]
            ],
            rating_distribution=[{"score": s, "count": scores.get(s, 0)} for s in SCORES],
            work_rating_distribution=[{"score": s, "count": work_scores.get(s, 0)} for s in SCORES],
            top_volunteers=self.top[key],
        )


def _mean(scores: dict[int, int]) -> float | None:
    rated = sum(scores.values())
    return round(sum(score * n for score, n in scores.items()) / rated, 2) if rated else None


def tally_for(tallies: list[Tally], index: int | None) -> Tally:
    # A row outside every span (between two that don't touch) has no tally: a scratch one.
    return tallies[index] if index is not None else Tally(())
