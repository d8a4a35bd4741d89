"""Events an operator counts, announced without the service layer knowing who counts.

Use cases call the functions here; the entry point registers an observer (the web
app registers Prometheus counters in ``api/metrics.py``) that turns them into
numbers. With no observer registered they cost a loop over an empty list.

An observer that fails is logged and ignored: counting must never undo a ledger post.
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class Observer(Protocol):
    def transfer_posted(self, kind: str, currency: str) -> None:
        """A new transfer row was written (a replayed idempotency key is not one)."""

    def redis_fallback(self, where: str) -> None:
        """Redis did not answer and ``where`` served from the database instead."""

    def outbox_lag(self, seconds: float) -> None:
        """Age of the oldest outbox row not yet applied to Redis."""


_observers: list[Observer] = []


def register(observer: Observer) -> None:
    """Add an observer once; registering the same one again changes nothing."""
    if observer not in _observers:
        _observers.append(observer)


def unregister(observer: Observer) -> None:
    if observer in _observers:
        _observers.remove(observer)


def transfer_posted(kind: str, currency: str) -> None:
    for observer in tuple(_observers):
        try:
            observer.transfer_posted(kind, currency)
        except Exception:
            log.exception("telemetry observer failed on transfer_posted")


def redis_fallback(where: str) -> None:
    for observer in tuple(_observers):
        try:
            observer.redis_fallback(where)
        except Exception:
            log.exception("telemetry observer failed on redis_fallback")


def outbox_lag(seconds: float) -> None:
    for observer in tuple(_observers):
        try:
            observer.outbox_lag(seconds)
        except Exception:
            log.exception("telemetry observer failed on outbox_lag")
