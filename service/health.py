"""Readiness: can this process reach what it needs to serve requests?"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]

    @property
    def ok(self) -> bool:
        return all(state == "ok" for state in self.checks.values())

    @property
    def down(self) -> list[str]:
        return [name for name, state in self.checks.items() if state != "ok"]


def check_readiness(session: Session, cache: redis.Redis) -> Readiness:
    checks = {"database": "ok", "redis": "ok"}
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        session.rollback()
        log.warning("readiness: database unreachable: %s", error.__class__.__name__)
        checks["database"] = "down"
    try:
        cache.ping()
    except (redis.RedisError, OSError) as error:
        log.warning("readiness: redis unreachable: %s", error.__class__.__name__)
        checks["redis"] = "down"
    return Readiness(checks)
