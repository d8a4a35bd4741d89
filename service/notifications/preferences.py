"""What a member asks of WeChat messages: per topic on or off (the inbox keeps
everything), and the subscribe-message allowances ``wx.requestSubscribeMessage``
answered with."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from points.access import Actor
from points.errors import InvalidInput
from points.notices import Topic
from service.db import rows_changed
from service.notifications.models import (
    QUOTA_TABLE,
    SETTING_TABLE,
    NotificationSetting,
    SubscriptionQuota,
)
from service.notifications.templates import Templates
from service.unit_of_work import UnitOfWork

# What wx.requestSubscribeMessage answers per template; only "accept" allows a message.
SUBSCRIBE_ANSWERS = ("accept", "reject", "ban", "filter")


def wechat_settings(session: Session, actor: Actor) -> dict[str, bool]:
    """Every topic with whether the actor wants WeChat messages of it (yes unless off)."""
    off = dict(
        session.execute(
            select(NotificationSetting.topic, NotificationSetting.wechat).where(
                NotificationSetting.user_id == actor.user_id
            )
        ).all()
    )
    session.rollback()
    return {topic.value: off.get(topic.value, True) for topic in Topic}


def change_wechat_settings(
    uow: UnitOfWork, actor: Actor, wanted: Mapping[str, bool]
) -> dict[str, bool]:
    unknown = sorted(set(wanted) - {topic.value for topic in Topic})
    if unknown:
        raise InvalidInput(
            "no such kind of notification",
            errors={"wechat": {name: ["no such kind of notification"] for name in unknown}},
        )
    with uow:
        session = uow.session
        upsert = _upsert(session)
        for topic, on in sorted(wanted.items()):
            statement = upsert(SETTING_TABLE).values(user_id=actor.user_id, topic=topic, wechat=on)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["user_id", "topic"], set_={"wechat": on}
                )
            )
        uow.commit()
    return wechat_settings(uow.session, actor)


def record_subscriptions(
    uow: UnitOfWork,
    actor: Actor,
    results: Mapping[str, str],
    templates: Templates,
    now: datetime,
) -> dict[str, int]:
    """Add one allowance per ``accept`` (others change nothing: a refusal now does not
    take back what was allowed before); returns the actor's allowance per template."""
    known = {template.template_id for template in templates.values()}
    errors: dict[str, list[str]] = {}
    for template_id, answer in results.items():
        if template_id not in known:
            errors[template_id] = ["not one of our templates"]
        elif answer not in SUBSCRIBE_ANSWERS:
            errors[template_id] = [f"one of {', '.join(SUBSCRIBE_ANSWERS)}"]
    if errors:
        raise InvalidInput("bad subscription results", errors={"results": errors})
    with uow:
        session = uow.session
        for template_id in sorted(t for t, answer in results.items() if answer == "accept"):
            _allow_one(session, actor.user_id, template_id, now)
        uow.commit()
    return allowances(uow.session, actor, templates)


def _allow_one(session: Session, user_id: int, template_id: str, now: datetime) -> None:
    """+1 in the database (INSERT … ON CONFLICT DO UPDATE remaining = remaining + 1): two
    answers at once both count, with no read in between."""
    statement = _upsert(session)(QUOTA_TABLE).values(
        user_id=user_id, template_id=template_id, remaining=1, updated_at=now
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "template_id"],
            set_={"remaining": QUOTA_TABLE.c.remaining + 1, "updated_at": now},
        )
    )


def allowances(session: Session, actor: Actor, templates: Templates) -> dict[str, int]:
    kept = dict(
        session.execute(
            select(SubscriptionQuota.template_id, SubscriptionQuota.remaining).where(
                SubscriptionQuota.user_id == actor.user_id
            )
        ).all()
    )
    session.rollback()
    return {
        template.template_id: kept.get(template.template_id, 0)
        for template in sorted(templates.values(), key=lambda one: one.template_id)
    }


def take_one(session: Session, user_id: int, template_id: str, now: datetime) -> bool:
    """-1 if any is left (conditional UPDATE): whether a message may be sent."""
    taken = session.execute(
        update(QUOTA_TABLE)
        .where(
            QUOTA_TABLE.c.user_id == user_id,
            QUOTA_TABLE.c.template_id == template_id,
            QUOTA_TABLE.c.remaining > 0,
        )
        .values(remaining=QUOTA_TABLE.c.remaining - 1, updated_at=now)
    )
    return rows_changed(taken) == 1


def give_back(session: Session, user_id: int, template_id: str, now: datetime) -> None:
    """A message taken from the allowance that WeChat did not deliver."""
    _allow_one(session, user_id, template_id, now)


def zero(session: Session, user_id: int, template_id: str, now: datetime) -> None:
    """WeChat says the member allows no more (43101): what we counted is gone."""
    session.execute(
        update(QUOTA_TABLE)
        .where(QUOTA_TABLE.c.user_id == user_id, QUOTA_TABLE.c.template_id == template_id)
        .values(remaining=0, updated_at=now)
    )


def _upsert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
