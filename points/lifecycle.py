"""Life cycles as transition tables: tasks, participations, visits, demands,
redemptions and adjustments each state theirs as one table here in points/.

A table maps ``(state, action)`` to the next state; a pair that is not in it is
refused with ``InvalidTransition``. Keeping the tables as data lets the tests check
every pair and lets the API list what a caller may do next.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from points.errors import Conflict


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, current: StrEnum, action: StrEnum, target: StrEnum | None) -> None:
        towards = f" to {target.value}" if target is not None else ""
        super().__init__(f"cannot {action.value}: no way from {current.value}{towards}")
        self.current = current
        self.action = action
        self.target = target


S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)


def transition(table: Mapping[tuple[S, A], S], current: S, action: A) -> S:
    """The state ``action`` leads to from ``current``, or ``InvalidTransition``."""
    try:
        return table[current, action]
    except KeyError:
        # Name where the action would have led, so the message reads "from X to Y".
        targets = {new for (_, done), new in table.items() if done == action}
        target = targets.pop() if len(targets) == 1 else None
        raise InvalidTransition(current, action, target) from None


def allowed_actions(table: Mapping[tuple[S, A], S], current: S) -> list[A]:
    """What may be done from ``current``, in the table's order (for the API to show)."""
    return [action for state, action in table if state == current]
