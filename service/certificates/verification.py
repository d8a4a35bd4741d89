"""Telling anyone whether a certificate number is genuine, and marking certificates
superseded when a service they list is reversed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from points.certificates import CertificateStatus, mask_name, normalise_number
from points.errors import NotFound
from points.tasks import ParticipationStatus
from service.certificates.models import Certificate, CertificateService
from service.db import utcnow
from service.outbox.dispatch import Handler
from service.outbox.events import Durable
from service.tasks.approvals import ParticipationReversed
from service.tasks.models import Participation


@dataclass(frozen=True)
class Verification:
    """All a verifier learns: that the number is ours, its state and its totals. No
    name beyond the masked one, no phone, no list of services."""

    number: str
    status: CertificateStatus
    holder: str  # masked: 张**
    issuer_name: str
    first_day: date
    last_day: date
    issued_on: date
    service_count: int
    total_hours: Decimal


def status_of(session: Session, certificate: Certificate) -> CertificateStatus:
    """Superseded once marked so, or once a service it lists is no longer approved:
    the mark follows a reversal by the outbox, right after it commits, and this says
    the truth in the moment between (or while the outbox waits for a retry)."""
    if certificate.superseded_at is not None or _lists_undone_work(session, certificate.id):
        return CertificateStatus.SUPERSEDED
    return CertificateStatus.VALID


def _lists_undone_work(session: Session, certificate_id: int) -> bool:
    undone = (
        select(CertificateService.participation_id)
        .join(Participation, Participation.id == CertificateService.participation_id)
        .where(
            CertificateService.certificate_id == certificate_id,
            Participation.status != ParticipationStatus.APPROVED.value,
        )
        .limit(1)
    )
    return session.scalar(undone) is not None


def verify_certificate(session: Session, raw_number: str) -> Verification:
    number = normalise_number(raw_number)
    certificate = (
        session.scalar(select(Certificate).where(Certificate.number == number))
        if number is not None
        else None
    )
    if certificate is None:
        raise NotFound("no certificate has this number")
    return Verification(
        number=certificate.number,
        status=status_of(session, certificate),
        holder=mask_name(certificate.holder_name),
        issuer_name=certificate.issuer_name,
        first_day=certificate.first_day,
        last_day=certificate.last_day,
        issued_on=certificate.issued_on,
        service_count=certificate.service_count,
        total_hours=certificate.total_hours,
    )


def supersede_for_reversals(session: Session, events: Sequence[Durable]) -> None:
    """Every certificate listing a reversed participation is superseded, once: the
    reversal wrote its outbox message in its own transaction, so this runs at least
    once for each, and a second run changes nothing."""
    reversed_ids = [e.participation_id for e in events if isinstance(e, ParticipationReversed)]
    if not reversed_ids:
        return
    listing = select(CertificateService.certificate_id).where(
        CertificateService.participation_id.in_(reversed_ids)
    )
    session.execute(
        update(Certificate)
        .where(Certificate.id.in_(listing), Certificate.superseded_at.is_(None))
        .values(superseded_at=utcnow())
    )


def certificate_handlers() -> dict[type[Durable], Handler]:
    return {ParticipationReversed: supersede_for_reversals}
