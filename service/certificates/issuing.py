"""Issuing a certificate for a period, once: asking again, or twice at once, gets the
one already issued."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, can
from points.calendar import local_date
from points.certificates import (
    CertificateStatus,
    NoServiceRecords,
    new_number,
    normalise_number,
)
from points.errors import InvalidInput, NotFound
from service.certificates.models import Certificate, CertificateService
from service.certificates.records import (
    Organisation,
    ServiceRecord,
    organisation_of,
    places_above,
    records_between,
)
from service.certificates.verification import status_of
from service.people.models import User
from service.places.models import Place
from service.unit_of_work import UnitOfWork

# A fresh number meets an issued one about once in 2⁶⁰ draws; trying a few more
# times makes that a non-event rather than a 500.
_NUMBER_TRIES = 3


@dataclass(frozen=True)
class Issued:
    certificate: Certificate
    created: bool  # False: this period's certificate was issued before


def issue_certificate(
    uow: UnitOfWork,
    actor: Actor,
    first: date,
    last: date,
    now: datetime,
    choose: Callable[[str], str] | None = None,
) -> Issued:
    """The actor's certificate for the local days ``first`` to ``last`` (both included),
    listing every approved service in them; the one issued before if there is one still
    in force (a superseded one is replaced by a new one, with a new number)."""
    if first > last:
        raise InvalidInput("the period ends before it begins", errors={"to": ["before from"]})
    if last > local_date(now):
        # Work still to come would be missing from a certificate already issued.
        raise InvalidInput("the period has not ended", errors={"to": ["after today"]})
    with uow:
        session = uow.session
        issued = _issued(session, actor.user_id, first, last)
        if issued is not None:
            if status_of(session, issued) is CertificateStatus.VALID:
                return Issued(issued, created=False)
            # Work it lists was reversed and the outbox hasn't marked it yet: marked
            # here, so the one issued next is the period's only one in force.
            issued.superseded_at = now
            session.flush()
        records = records_between(session, actor.user_id, first, last)
        if not records:
            raise NoServiceRecords(
                "no approved service in this period", errors={"from": ["no service records"]}
            )
        holder = session.get(User, actor.user_id)
        if holder is None:
            raise NotFound("user not found")
        issuer = _issuer(session, holder, records)
        for _ in range(_NUMBER_TRIES):
            certificate = _certificate(holder, issuer, records, first, last, now, choose)
            try:
                with session.begin_nested():
                    session.add(certificate)
                    session.flush()
                    session.add_all(_services(certificate.id, records))
                    session.flush()
            except IntegrityError:
                # Another request issued this period's certificate meanwhile (its
                # commit released our INSERT), or, once in a lifetime, the number
                # was taken: answer with theirs, or draw again.
                issued = _issued(session, actor.user_id, first, last)
                if issued is not None:
                    return Issued(issued, created=False)
                continue
            uow.commit()
            return Issued(certificate, created=True)
        raise RuntimeError("no free certificate number after several tries")


def _issued(session: Session, user_id: int, first: date, last: date) -> Certificate | None:
    return session.scalar(
        select(Certificate).where(
            Certificate.user_id == user_id,
            Certificate.first_day == first,
            Certificate.last_day == last,
            Certificate.superseded_at.is_(None),
        )
    )


def _issuer(session: Session, holder: User, records: list[ServiceRecord]) -> Organisation:
    """The community the holder lives in, whose staff keep their records; where they
    live unknown, the organisation of their latest service."""
    if holder.residence_place_id is not None:
        places = places_above(session, [holder.residence_place_id])
        if holder.residence_place_id in places:
            return organisation_of(places, holder.residence_place_id)
    return records[-1].organisation


def _certificate(
    holder: User,
    issuer: Organisation,
    records: list[ServiceRecord],
    first: date,
    last: date,
    now: datetime,
    choose: Callable[[str], str] | None,
) -> Certificate:
    today = local_date(now)
    return Certificate(
        number=new_number(today.year) if choose is None else new_number(today.year, choose),
        user_id=holder.id,
        first_day=first,
        last_day=last,
        issued_at=now,
        issued_on=today,
        issuer_place_id=issuer.id,
        issuer_name=issuer.name,
        holder_name=holder.name,
        holder_contact=holder.phone_masked or "",
        service_count=len(records),
        total_hours=sum((r.hours for r in records), Decimal("0.00")),
        entered_hours=sum((r.hours for r in records if r.manual_entry), Decimal("0.00")),
    )


def _services(certificate_id: int, records: list[ServiceRecord]) -> list[CertificateService]:
    return [
        CertificateService(
            certificate_id=certificate_id,
            participation_id=record.participation_id,
            position=position,
            served_on=record.served_on,
            title=record.title,
            category=record.category,
            organisation=record.organisation.name,
            place=record.place[:200],
            hours=record.hours,
            manual_entry=record.manual_entry,
        )
        for position, record in enumerate(records, start=1)
    ]


def certificate_for_reader(session: Session, actor: Actor, raw_number: str) -> Certificate:
    """A certificate for its holder, or for staff of the community that issued it;
    for anyone else it does not exist."""
    number = normalise_number(raw_number)
    certificate = (
        session.scalar(select(Certificate).where(Certificate.number == number))
        if number is not None
        else None
    )
    if certificate is None or not _may_read(session, actor, certificate):
        raise NotFound("certificate not found")
    return certificate


def _may_read(session: Session, actor: Actor, certificate: Certificate) -> bool:
    if certificate.user_id == actor.user_id:
        return True
    if certificate.issuer_place_id is None:
        return False
    issuer = session.get(Place, certificate.issuer_place_id)
    return issuer is not None and can(actor, Action.VIEW_PEOPLE, Target(place_path=issuer.path))


@dataclass(frozen=True)
class Held:
    """A certificate its holder has, and whether it still stands."""

    certificate: Certificate
    status: CertificateStatus


def my_certificates(session: Session, actor: Actor) -> list[Held]:
    """The actor's certificates, newest first, superseded ones included (marked so)."""
    found = session.scalars(
        select(Certificate)
        .where(Certificate.user_id == actor.user_id)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    ).all()
    return [Held(certificate, status_of(session, certificate)) for certificate in found]
