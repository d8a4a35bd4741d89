"""Proxy links (代办人): staff link someone with an account to a person they look
after, recording the person's consent; the link runs from its start to its end or
until staff end it, and only a running link lets the proxy act."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, SelfApproval, require
from points.errors import InvalidInput, NotFound
from points.lifecycle import transition
from points.proxies import (
    LINK_TRANSITIONS,
    AlreadyProxy,
    ConsentMethod,
    LinkAction,
    LinkStatus,
    ProxyLinkChanged,
    check_consent_given,
    check_link_span,
    check_not_self,
)
from service.audit.log import record
from service.lifecycle import move_status
from service.people.admin import get_person, person_target
from service.people.models import User
from service.proxies.models import ProxyLink
from service.unit_of_work import UnitOfWork
from service.uploads.photos import check_own_photos


@dataclass(frozen=True)
class Consent:
    """The person's yes, as staff saw or were shown it."""

    method: ConsentMethod
    given_at: datetime | None = None  # when they said yes; when recorded if not said
    note: str = ""
    upload_id: int | None = None  # a photo of the signed form, sent by the recorder


@dataclass(frozen=True)
class NewLink:
    proxy_id: int
    consent: Consent
    relation: str = ""
    starts_at: datetime | None = None  # now if not given
    ends_at: datetime | None = None  # open-ended if not given


def _looked_after(session: Session, actor: Actor, user_id: int, action: Action) -> User:
    """A person in the actor's scope whom their roles let them keep links for."""
    person = get_person(session, actor, user_id)
    require(actor, action, person_target(session, person), what="person")
    return person


def link_proxy(
    uow: UnitOfWork, actor: Actor, subject_id: int, spec: NewLink, now: datetime
) -> ProxyLink:
    with uow:
        session = uow.session
        subject = _looked_after(session, actor, subject_id, Action.MANAGE_HOUSEHOLDS)
        proxy = get_person(session, actor, spec.proxy_id)
        check_not_self(subject.id, proxy.id)
        if proxy.id == actor.user_id:
            # Whoever records the consent witnesses it: they can't be the one it lets act
            # (and spend the person's 幸福币). Another staff member links them.
            raise SelfApproval("staff don't link themselves as someone's proxy")
        if not proxy.active:
            raise InvalidInput(
                "a proxy signs in to act: this account is disabled",
                errors={"proxy_id": ["disabled"]},
            )
        starts_at = spec.starts_at or now
        check_link_span(starts_at, spec.ends_at)
        check_consent_given(spec.consent.given_at, starts_at, now)
        given_at = spec.consent.given_at or now
        evidence = spec.consent.upload_id
        if evidence is not None:
            check_own_photos(session, actor.user_id, [evidence], now)
        link = ProxyLink(
            subject_id=subject.id,
            proxy_id=proxy.id,
            relation=spec.relation.strip(),
            consent_method=spec.consent.method.value,
            consent_note=spec.consent.note.strip(),
            consent_upload_id=evidence,
            consent_given_at=given_at,
            recorded_by_id=actor.user_id,
            recorded_at=now,
            starts_at=starts_at,
            ends_at=spec.ends_at,
            status=LinkStatus.ACTIVE.value,
        )
        try:
            with session.begin_nested():
                session.add(link)
                session.flush()
        except IntegrityError:
            raise AlreadyProxy(
                "this person already acts for them", errors={"proxy_id": ["already linked"]}
            ) from None
        record(
            session,
            actor_id=actor.user_id,
            action="proxy.link",
            object_type="proxy_link",
            object_id=link.id,
            before=None,
            after={
                "subject_id": subject.id,
                "proxy_id": proxy.id,
                "consent_method": link.consent_method,
                "starts_at": starts_at.isoformat(),
                "ends_at": spec.ends_at.isoformat() if spec.ends_at else None,
            },
            place_id=subject.residence_place_id,
        )
        uow.commit()
        session.refresh(link)
        return link


def end_link(
    uow: UnitOfWork, actor: Actor, link_id: int, now: datetime, *, reason: str = ""
) -> ProxyLink:
    with uow:
        session = uow.session
        link = session.get(ProxyLink, link_id)
        if link is None:
            raise NotFound("proxy link not found")
        subject = _looked_after(session, actor, link.subject_id, Action.MANAGE_HOUSEHOLDS)
        current = LinkStatus(link.status)
        target = transition(LINK_TRANSITIONS, current, LinkAction.END)
        moved = move_status(
            session,
            ProxyLink,
            link.id,
            current,
            target,
            ended_at=now,
            ended_by_id=actor.user_id,
            end_reason=reason.strip(),
        )
        if not moved:
            raise ProxyLinkChanged("this link changed a moment ago; reload it")
        record(
            session,
            actor_id=actor.user_id,
            action="proxy.end",
            object_type="proxy_link",
            object_id=link.id,
            before={"status": current.value},
            after={"status": target.value, "reason": reason.strip()},
            place_id=subject.residence_place_id,
        )
        uow.commit()
        session.refresh(link)
        return link


def links_of(session: Session, actor: Actor, subject_id: int) -> list[ProxyLink]:
    """A person's proxies, running and ended, for staff who look after them."""
    subject = _looked_after(session, actor, subject_id, Action.VIEW_PEOPLE)
    return list(
        session.scalars(
            select(ProxyLink).where(ProxyLink.subject_id == subject.id).order_by(ProxyLink.id)
        )
    )


def my_links(session: Session, actor: Actor) -> list[ProxyLink]:
    """Who acts for me, and whom I act for."""
    return list(
        session.scalars(
            select(ProxyLink)
            .where(or_(ProxyLink.subject_id == actor.user_id, ProxyLink.proxy_id == actor.user_id))
            .order_by(ProxyLink.id)
        )
    )
