"""The notice a use case gives when something happens that people must hear of: a
durable event, so it is kept in the outbox in the use case's own transaction and the
inbox (service/notifications) gets it after commit, or from the sweeper after a crash.

It lives below every feature, so producers tell without knowing who listens.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from sqlalchemy.orm import Session

from points.currency import Currency
from points.notices import Facts, Topic
from service.outbox.events import Durable
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Notice(Durable, kind="notice"):
    """Tell ``user_ids`` about ``topic``. ``source`` makes it once per person: the inbox
    keeps one notification per (person, source), however often the message is handed
    out. Without a business source (a second rejection of one piece of work is news
    again) it is random, and kept with the message so redelivery keeps it."""

    topic: Topic
    user_ids: tuple[int, ...]
    facts: Facts
    source: str = field(default_factory=lambda: f"notice:{uuid.uuid4().hex}")

    def to_payload(self) -> dict[str, Any]:
        return {
            "topic": self.topic.value,
            "user_ids": list(self.user_ids),
            "facts": dict(self.facts),
            "source": self.source,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        return cls(
            Topic(payload["topic"]),
            tuple(int(user_id) for user_id in payload["user_ids"]),
            dict(payload["facts"]),
            str(payload["source"]),
        )


def tell(
    session: Session, topic: Topic, user_ids: Iterable[int], facts: Facts, **source: str
) -> None:
    """Record a notice on the unit of work ``session`` is in. Work done outside any
    (a script seeding data straight into a session) is no use case and tells nobody."""
    people = tuple(dict.fromkeys(user_ids))
    uow = UnitOfWork.of(session)
    if people and uow is not None:
        uow.record(Notice(topic, people, facts, **source))


def amounts(transfers: Iterable[Any]) -> str:
    """What transfers moved, as people read it: 20 积分、5 幸福币."""
    return (
        "、".join(
            f"{transfer.amount} {Currency(transfer.currency).label}" for transfer in transfers
        )
        or "0"
    )


def explanations(transfers: Iterable[Any]) -> str:
    return "；".join(dict.fromkeys(str(t.explanation) for t in transfers if t.explanation))
