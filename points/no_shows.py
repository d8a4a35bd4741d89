"""The no-show policy (爽约规则): after ``limit`` no-shows within a rolling window, a
person may not sign up (nor join a waitlist) until the window has passed enough of them.

It is about places, not punishment: nobody loses points, and the block ends by itself.
A policy is data, kept per place by its staff; the nearest place up the tree that keeps
one decides, and the built-in default applies where none does. Excused no-shows are
not given to ``blocked_until`` at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from points.errors import Conflict, InvalidInput

MAX_WINDOW_DAYS = 366
MAX_LIMIT = 100


@dataclass(frozen=True)
class NoShowPolicy:
    limit: int  # this many no-shows within the window block sign-up
    window_days: int
    active: bool = True  # False: the place turned the rule off ("off" overrides above)

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput(
                "the limit is a number of no-shows",
                errors={"max_no_shows": [f"between 1 and {MAX_LIMIT}"]},
            )
        if not 1 <= self.window_days <= MAX_WINDOW_DAYS:
            raise InvalidInput(
                "the window is a number of days",
                errors={"window_days": [f"between 1 and {MAX_WINDOW_DAYS}"]},
            )

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)

    def counts_from(self, now: datetime) -> datetime:
        """No-shows after this moment are inside the window (one exactly a window ago has
        just left it)."""
        return now - self.window


DEFAULT_POLICY = NoShowPolicy(limit=3, window_days=90)


def nearest_policy(kept: dict[int, NoShowPolicy], place_ids_up: Iterable[int]) -> NoShowPolicy:
    """The policy of the first place, going up from the place itself to the root, that
    keeps one; the default if none does."""
    for place_id in place_ids_up:
        if place_id in kept:
            return kept[place_id]
    return DEFAULT_POLICY


def blocked_until(
    policy: NoShowPolicy, no_shows_at: Iterable[datetime], now: datetime
) -> datetime | None:
    """When sign-up opens again for someone with unexcused no-shows at these moments, or
    None if it is open now. Blocked while ``limit`` or more lie inside the window: it
    opens once the ``limit``-th most recent one leaves it."""
    if not policy.active:
        return None
    start = policy.counts_from(now)
    recent = sorted((at for at in no_shows_at if start < at <= now), reverse=True)
    if len(recent) < policy.limit:
        return None
    return recent[policy.limit - 1] + policy.window


class TooManyNoShows(Conflict):
    code = "too_many_no_shows"

    def __init__(self, policy: NoShowPolicy, clears_at: datetime) -> None:
        super().__init__(
            f"{policy.limit} no-shows within {policy.window_days} days: "
            f"you can sign up again from {clears_at.isoformat()}",
            errors={"clears_at": clears_at.isoformat()},
        )
        self.clears_at = clears_at


def check_may_sign_up(policy: NoShowPolicy, no_shows_at: Iterable[datetime], now: datetime) -> None:
    clears_at = blocked_until(policy, no_shows_at, now)
    if clears_at is not None:
        raise TooManyNoShows(policy, clears_at)
