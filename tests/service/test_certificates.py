"""Certificates beside the web edge: a reversal's outbox message supersedes what was
issued on the work even if it is handed out only by the sweeper, and verification tells
the truth before that; a number already taken is drawn again."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from sqlalchemy import select

from api import extensions
from points.certificates import CertificateStatus
from service.access import load_actor
from service.certificates.issuing import issue_certificate
from service.certificates.models import Certificate
from service.certificates.verification import supersede_for_reversals, verify_certificate
from service.db import utcnow
from service.outbox.models import OutboxMessage
from service.tasks.approvals import ParticipationReversed, reverse_approval
from service.unit_of_work import UnitOfWork
from tests.api.certificate_world import build


def test_a_reversal_heard_only_by_the_sweeper_still_supersedes_at_once(app: Flask) -> None:
    town = build(app)
    with app.app_context():
        session = extensions.session()
        member = load_actor(session, town.ids["member"])
        issued = issue_certificate(
            UnitOfWork(session), member, date(2025, 1, 1), date(2025, 12, 31), utcnow()
        )
        number = issued.certificate.number
        # No dispatcher: as if the process died right after the reversal committed.
        staff = load_actor(session, town.ids["staff_A"])
        reverse_approval(UnitOfWork(session), staff, town.ids["敲门行动"], "重复登记", utcnow())
        waiting = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "participation.reversed")
        ).all()
        assert [m.payload for m in waiting] == [{"participation_id": town.ids["敲门行动"]}]
        assert session.get(Certificate, issued.certificate.id).superseded_at is None  # type: ignore[union-attr]
        assert verify_certificate(session, number).status is CertificateStatus.SUPERSEDED
        session.rollback()
        # The worker's sweep, once the writer's lease ran out, marks it for good.
        report = extensions.outbox_dispatcher().sweep(session, now=utcnow() + timedelta(minutes=5))
        assert report.handled >= 1
        marked = session.get(Certificate, issued.certificate.id)
        assert marked is not None
        assert marked.superseded_at is not None
        first_mark = marked.superseded_at
        # Handed out again (at least once means maybe twice): nothing changes.
        supersede_for_reversals(session, [ParticipationReversed(town.ids["敲门行动"])])
        session.commit()
        session.expire_all()
        assert session.get(Certificate, issued.certificate.id).superseded_at == first_mark  # type: ignore[union-attr]


def test_asking_again_after_a_reversal_not_yet_marked_issues_a_new_one(app: Flask) -> None:
    town = build(app)
    with app.app_context():
        session = extensions.session()
        member = load_actor(session, town.ids["member"])
        period = (date(2025, 1, 1), date(2025, 12, 31))
        old = issue_certificate(UnitOfWork(session), member, *period, utcnow()).certificate
        staff = load_actor(session, town.ids["staff_A"])
        reverse_approval(UnitOfWork(session), staff, town.ids["敲门行动"], "重复登记", utcnow())
        new = issue_certificate(UnitOfWork(session), member, *period, utcnow())
        assert new.created
        assert new.certificate.number != old.number
        assert new.certificate.service_count == 1
        session.expire_all()
        assert session.get(Certificate, old.id).superseded_at is not None  # type: ignore[union-attr]
        again = issue_certificate(UnitOfWork(session), member, *period, utcnow())
        assert (again.created, again.certificate.number) == (False, new.certificate.number)


def test_a_number_already_issued_is_drawn_again(app: Flask) -> None:
    town = build(app)
    with app.app_context():
        session = extensions.session()
        other = load_actor(session, town.ids["other"])
        draws = iter("A" * 12 + "B" * 12)
        first = issue_certificate(
            UnitOfWork(session),
            other,
            date(2025, 1, 1),
            date(2025, 12, 31),
            utcnow(),
            lambda _: "A",
        ).certificate
        member = load_actor(session, town.ids["member"])
        issued = issue_certificate(
            UnitOfWork(session),
            member,
            date(2025, 1, 1),
            date(2025, 12, 31),
            utcnow(),
            lambda _: next(draws),
        )
        assert first.number.endswith("-AAAA-AAAA-AAAA")
        assert issued.created
        assert issued.certificate.number.endswith("-BBBB-BBBB-BBBB")
        assert [s.title for s in issued.certificate.services] == ["敲门行动", "送菜上门"]
