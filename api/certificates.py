"""志愿服务记录与证明: your service records, certificates issued on them, their PDF, and
verification of a certificate number by anyone (no sign-in)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, url_for
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, offset_page, page_schema
from api.text import Text, VerbatimText
from points.certificates import CertificateStatus, verify_link
from points.rules import Category
from service.certificates.document import certificate_document
from service.certificates.issuing import issue_certificate, my_certificates
from service.certificates.models import Certificate
from service.certificates.records import service_records, yearly_totals
from service.certificates.verification import verify_certificate
from service.db import utcnow

blp = Blueprint(
    "certificates", __name__, url_prefix="/api/v1", description="Service records and certificates"
)
# Read without signing in, and rate limited like the other public reads
# (LIANXIN_PUBLIC_RATE_LIMIT): a verifier holds a paper, not an account.
verification = Blueprint(
    "certificate_verification",
    __name__,
    url_prefix="/api/v1",
    description="Verify a certificate (志愿服务证明) without signing in",
)

PDF = "application/pdf"
CATEGORIES = [c.value for c in Category]


class RecordArgs(PageArgs):
    year = WholeNumber(
        validate=validate.Range(min=2000, max=2100),
        metadata={"description": "only this year's records (Beijing time)"},
    )


class OrganisationSchema(Schema):
    id = WholeNumber(required=True)
    name = Text(required=True)


class ServiceRecordSchema(Schema):
    participation_id = WholeNumber(required=True)
    task_id = WholeNumber(required=True)
    title = Text(required=True)
    category = Text(
        required=True, validate=validate.OneOf(CATEGORIES), metadata={"description": "八微"}
    )
    type = Text(required=True)
    organisation = fields.Nested(OrganisationSchema, required=True)
    place = Text(required=True, metadata={"description": "where: the task's address"})
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    served_on = fields.Date(required=True, metadata={"description": "the local day"})
    hours = fields.Float(required=True, metadata={"description": "as credited"})
    units = WholeNumber(allow_none=True)
    work_unit = Text(required=True)
    approved_at = fields.AwareDateTime(allow_none=True)
    manual_entry = fields.Boolean(
        required=True, metadata={"description": "补录: hours entered by staff, not checked in"}
    )


class YearTotalSchema(Schema):
    year = WholeNumber(required=True)
    services = WholeNumber(required=True)
    hours = fields.Float(required=True, metadata={"description": "verified + entered"})
    verified_hours = fields.Float(
        required=True, metadata={"description": "measured by check-in and check-out"}
    )
    entered_hours = fields.Float(
        required=True, metadata={"description": "entered by staff after the fact (补录)"}
    )


class ServiceRecordPage(page_schema(ServiceRecordSchema, "ServiceRecordItems")):  # type: ignore[misc]
    years = fields.List(
        fields.Nested(YearTotalSchema),
        required=True,
        metadata={"description": "every year's totals, newest first (not only this page's)"},
    )


class PeriodSchema(Schema):
    # from / to are Python keywords' neighbours: the fields are named apart.
    first = fields.Date(data_key="from", required=True, metadata={"description": "first day"})
    last = fields.Date(data_key="to", required=True, metadata={"description": "last day, included"})

    @validates_schema
    def _in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["first"] > data["last"]:
            raise ValidationError("must not be before from", field_name="to")


class CertificateServiceSchema(Schema):
    position = WholeNumber(required=True)
    participation_id = WholeNumber(required=True)
    served_on = fields.Date(required=True)
    title = Text(required=True)
    category = Text(required=True)
    organisation = Text(required=True)
    place = Text(required=True)
    hours = fields.Float(required=True)
    manual_entry = fields.Boolean(required=True, metadata={"description": "补录"})


class CertificateSchema(Schema):
    number = VerbatimText(required=True, metadata={"example": "LX2026-7K4M-9QXD-2HFA"})
    status = Text(required=True, validate=validate.OneOf([s.value for s in CertificateStatus]))
    first_day = fields.Date(required=True, data_key="from")
    last_day = fields.Date(required=True, data_key="to")
    issued_on = fields.Date(required=True)
    issuer_name = Text(required=True)
    holder_name = Text(required=True)
    holder_contact = Text(required=True, metadata={"description": "masked phone, or empty"})
    service_count = WholeNumber(required=True)
    total_hours = fields.Float(required=True, metadata={"description": "verified + entered"})
    verified_hours = fields.Float(required=True, metadata={"description": "checked in"})
    entered_hours = fields.Float(required=True, metadata={"description": "补录, stated apart"})
    services = fields.List(fields.Nested(CertificateServiceSchema), required=True)
    pdf_url = VerbatimText(required=True)
    verify_url = VerbatimText(required=True)


class VerificationSchema(Schema):
    number = VerbatimText(required=True)
    genuine = fields.Boolean(
        required=True, metadata={"description": "always true: a number we never issued is 404"}
    )
    status = Text(required=True, validate=validate.OneOf([s.value for s in CertificateStatus]))
    holder = Text(required=True, metadata={"description": "the holder's name, masked"})
    issuer_name = Text(required=True)
    first_day = fields.Date(required=True, data_key="from")
    last_day = fields.Date(required=True, data_key="to")
    issued_on = fields.Date(required=True)
    service_count = WholeNumber(required=True)
    total_hours = fields.Float(required=True)


@blp.route("/me/service-records")
class ServiceRecords(MethodView):
    @blp.arguments(RecordArgs, location="query")
    @blp.response(200, ServiceRecordPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your 志愿服务记录: every approved service, newest first, with the hours
        credited, and your totals by year."""
        session, actor = extensions.session(), current_actor()
        offset = int_cursor(args["cursor"])
        rows = service_records(session, actor.user_id, args.get("year"), args["limit"] + 1, offset)
        return {
            **offset_page(rows, args["limit"], offset),
            "years": yearly_totals(session, actor.user_id),
        }


@blp.route("/me/certificates")
class Certificates(MethodView):
    @blp.response(200, CertificateSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Your certificates, newest first; one a reversal superseded says so (ask for
        the same period again for a new one)."""
        held = my_certificates(extensions.session(), current_actor())
        return [_view(mine.certificate, mine.status) for mine in held]

    @blp.arguments(PeriodSchema)
    @blp.response(201, CertificateSchema)
    @blp.alt_response(200, schema=CertificateSchema, description="issued before for this period")
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Issue your 志愿服务证明 for a period that has ended (local days, both
        included): 201 with a new number, or 200 with the one issued for the same
        period before. 422 ``no_service_records`` if nothing was approved in it."""
        issued = issue_certificate(
            extensions.unit_of_work(), current_actor(), body["first"], body["last"], utcnow()
        )
        return _view(issued.certificate), 201 if issued.created else 200


@blp.route("/certificates/<string:number>.pdf")
class CertificatePdf(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "the certificate, A4 PDF",
                "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    )
    def get(self, number: str) -> Response:
        """The certificate as a PDF, for its holder and for staff of the community that
        issued it; anyone else gets 404."""
        document = certificate_document(
            extensions.session(),
            current_actor(),
            number,
            extensions.settings().certificate_verify_base_url,
        )
        return Response(
            document.content,
            mimetype=PDF,
            headers={"Content-Disposition": f'inline; filename="{document.file_name}"'},
        )


@verification.route("/certificates/<string:number>/verify")
class Verify(MethodView):
    @verification.response(200, VerificationSchema)
    def get(self, number: str) -> dict[str, Any]:
        """Whether a certificate number is genuine, whether it still holds
        (``superseded`` once a service it lists was reversed), and its totals; nothing
        more. No sign-in; rate limited per address. A number never issued is 404."""
        found = verify_certificate(extensions.session(), number)
        return {**asdict(found), "genuine": True}


def _view(
    certificate: Certificate, status: CertificateStatus = CertificateStatus.VALID
) -> dict[str, Any]:
    # Issued, or found for its period, a certificate is in force unless told otherwise.
    return {
        "number": certificate.number,
        "status": status.value,
        "first_day": certificate.first_day,
        "last_day": certificate.last_day,
        "issued_on": certificate.issued_on,
        "issuer_name": certificate.issuer_name,
        "holder_name": certificate.holder_name,
        "holder_contact": certificate.holder_contact,
        "service_count": certificate.service_count,
        "total_hours": certificate.total_hours,
        "verified_hours": certificate.verified_hours,
        "entered_hours": certificate.entered_hours,
        "services": certificate.services,
        "pdf_url": url_for("certificates.CertificatePdf", number=certificate.number),
        "verify_url": verify_link(
            extensions.settings().certificate_verify_base_url, certificate.number
        ),
    }
