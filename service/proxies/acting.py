"""A proxy acting for the person (代办): the running link that allows it, the person
as the use case sees them, and the record of what was done for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from points.access import Actor
from points.proxies import LinkStatus, NotProxy, ProxyDeed, runs_at
from service.access import load_actor
from service.people.admin import get_person
from service.people.models import User
from service.proxies.models import ProxyAct, ProxyLink


@dataclass(frozen=True)
class ActingFor:
    """Who acts (the proxy, signed in), for whom (with the person's own grants, which
    decide what they may redeem or report), and under which link."""

    proxy: Actor
    subject: Actor
    subject_name: str
    proxy_name: str
    link_id: int

    @property
    def by_line(self) -> str:
        """How the person's history says who did it."""
        return f"由 {self.proxy_name} 代办"


def runs_now(
    proxy_id: int, subject_id: ColumnElement[int] | InstrumentedAttribute[int], now: datetime
) -> ColumnElement[bool]:
    """In SQL, ``running_link`` is not None: a link lets ``proxy_id`` act for the person
    in ``subject_id`` at ``now`` (``points.proxies.runs_at``)."""
    return exists().where(
        ProxyLink.proxy_id == proxy_id,
        ProxyLink.subject_id == subject_id,
        ProxyLink.status == LinkStatus.ACTIVE.value,
        ProxyLink.starts_at <= now,
        or_(ProxyLink.ends_at.is_(None), ProxyLink.ends_at > now),
    )


def running_link(
    session: Session, proxy_id: int, subject_id: int, now: datetime
) -> ProxyLink | None:
    """The link that lets ``proxy_id`` act for ``subject_id`` at ``now``, if one does."""
    link = session.scalars(
        select(ProxyLink)
        .join(User, User.id == ProxyLink.subject_id)
        .where(
            ProxyLink.proxy_id == proxy_id,
            ProxyLink.subject_id == subject_id,
            # One active link per pair (a partial unique index): this finds it or none.
            ProxyLink.status == LinkStatus.ACTIVE.value,
            User.active.is_(True),
        )
    ).first()
    if link is None or not runs_at(LinkStatus(link.status), link.starts_at, link.ends_at, now):
        return None
    return link


def acting_for(session: Session, actor: Actor, subject_id: int, now: datetime) -> ActingFor:
    """The actor acting for ``subject_id``, or ``NotProxy``: the same answer whether
    the person exists or not, so that it tells nobody who is on the register."""
    link = running_link(session, actor.user_id, subject_id, now)
    if link is None:
        raise NotProxy(
            "you do not act for this person (代办): staff link you, with their consent",
            errors={"for_user_id": ["no running proxy link"]},
        )
    return ActingFor(
        actor, load_actor(session, subject_id), link.subject_name, link.proxy_name, link.id
    )


def record_act(
    session: Session,
    acting: ActingFor,
    deed: ProxyDeed,
    object_type: str,
    object_id: int,
    now: datetime,
) -> None:
    session.add(
        ProxyAct(
            link_id=acting.link_id,
            actor_id=acting.proxy.user_id,
            subject_id=acting.subject.user_id,
            deed=deed.value,
            object_type=object_type,
            object_id=object_id,
            at=now,
        )
    )


def my_acts(session: Session, actor: Actor, *, limit: int, before_id: int | None) -> list[ProxyAct]:
    """What proxies did for me, and what I did for others, newest first."""
    mine = or_(ProxyAct.actor_id == actor.user_id, ProxyAct.subject_id == actor.user_id)
    return _newest_first(session, mine, limit, before_id)


def acts_for(
    session: Session,
    actor: Actor,
    subject_id: int,
    now: datetime,
    *,
    limit: int,
    before_id: int | None,
) -> list[ProxyAct]:
    """What proxies did for a person, newest first: for staff who look after them and
    for whoever acts for them now (the person may have no phone to look with)."""
    if running_link(session, actor.user_id, subject_id, now) is None:
        get_person(session, actor, subject_id)
    return _newest_first(session, ProxyAct.subject_id == subject_id, limit, before_id)


def _newest_first(
    session: Session, whose: ColumnElement[bool], limit: int, before_id: int | None
) -> list[ProxyAct]:
    query = select(ProxyAct).where(whose).order_by(ProxyAct.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(ProxyAct.id < before_id)
    return list(session.scalars(query))
