"""The console's clock: the wall clock, unless a test put another in its place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app

from service.db import utcnow

CLOCK = "lianxin.console_clock"


def now() -> datetime:
    clock: Callable[[], datetime] | None = current_app.extensions.get(CLOCK)
    return clock() if clock is not None else utcnow()
