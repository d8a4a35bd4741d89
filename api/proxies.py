"""Acting for someone (代办): residents without a smartphone put on the register by
staff, their proxies (代办人) linked on their consent, what proxies did for them, and
the paper pickup slip."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, page, page_schema
from api.text import MultilineText, Text, VerbatimText
from points.proxies import ConsentMethod, LinkStatus, ProxyDeed
from service.db import utcnow
from service.households.offline import OfflineResident, register_offline_resident
from service.proxies.acting import acts_for, my_acts
from service.proxies.links import Consent, NewLink, end_link, link_proxy, links_of, my_links
from service.stations.slips import pickup_slip

blp = Blueprint("proxies", __name__, url_prefix="/api/v1", description="Acting for someone (代办)")

PDF = "application/pdf"


class OfflineResidentSchema(Schema):
    id = WholeNumber(dump_only=True)
    name = Text(required=True, validate=validate.Length(min=1, max=32))
    phone = VerbatimText(
        load_only=True,
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=20),
        metadata={"description": "optional: a family or landline-free mobile, kept encrypted"},
    )
    phone_masked = Text(dump_only=True, allow_none=True)
    residence_place_id = WholeNumber(dump_only=True)


class ConsentSchema(Schema):
    method = Text(
        required=True,
        validate=validate.OneOf([m.value for m in ConsentMethod]),
        metadata={"description": "signed_form, in_person (staff as witness), guardian"},
    )
    given_at = fields.AwareDateTime(metadata={"description": "when they said yes; now if not"})
    note = MultilineText(load_default="", validate=validate.Length(max=500))
    upload_id = WholeNumber(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={"description": "a photo of the signed form, uploaded by you"},
    )


class ProxyLinkSchema(Schema):
    id = WholeNumber(dump_only=True)
    subject_id = WholeNumber(dump_only=True, metadata={"description": "the person acted for"})
    subject_name = Text(dump_only=True)
    proxy_id = WholeNumber(required=True, validate=validate.Range(min=1))
    proxy_name = Text(dump_only=True)
    relation = Text(load_default="", validate=validate.Length(max=32))
    consent = fields.Nested(ConsentSchema, required=True)
    starts_at = fields.AwareDateTime(metadata={"description": "now if not given"})
    ends_at = fields.AwareDateTime(allow_none=True, metadata={"description": "open if not given"})
    status = Text(dump_only=True, metadata={"enum": [s.value for s in LinkStatus]})
    recorded_by_id = WholeNumber(dump_only=True)
    recorded_at = fields.DateTime(dump_only=True)
    ended_at = fields.DateTime(dump_only=True, allow_none=True)
    end_reason = Text(dump_only=True)


class EndLinkSchema(Schema):
    reason = MultilineText(load_default="", validate=validate.Length(max=500))


class ProxyActSchema(Schema):
    id = WholeNumber(required=True)
    deed = Text(required=True, metadata={"enum": [d.value for d in ProxyDeed]})
    actor_id = WholeNumber(required=True, metadata={"description": "the proxy who acted"})
    actor_name = Text(allow_none=True)
    subject_id = WholeNumber(required=True, metadata={"description": "for whom"})
    subject_name = Text(allow_none=True)
    object_type = Text(required=True, metadata={"enum": ["demand", "redemption"]})
    object_id = WholeNumber(required=True)
    at = fields.DateTime(required=True)


@blp.route("/households/<int:household_id>/offline-residents")
class OfflineResidents(MethodView):
    @blp.arguments(OfflineResidentSchema)
    @blp.response(201, OfflineResidentSchema)
    def post(self, body: dict[str, Any], household_id: int) -> Any:
        """Put a resident with no smartphone on the register: a person (with no WeChat
        account) living in the household, a resident of its place. A proxy acts for
        them. 409 phone_taken if the phone is someone else's."""
        return register_offline_resident(
            extensions.unit_of_work(),
            current_actor(),
            household_id,
            OfflineResident(name=body["name"], phone=body["phone"]),
            extensions.phone_vault(),
        )


@blp.route("/people/<int:user_id>/proxies")
class Proxies(MethodView):
    @blp.response(200, ProxyLinkSchema(many=True))
    def get(self, user_id: int) -> Any:
        """Who acts, or acted, for the person (代办人): staff who look after them."""
        return links_of(extensions.session(), current_actor(), user_id)

    @blp.arguments(ProxyLinkSchema)
    @blp.response(201, ProxyLinkSchema)
    def post(self, body: dict[str, Any], user_id: int) -> Any:
        """Link someone with an account (a family member, a party member) to act for the
        person, with the person's consent recorded (422 without it). 409 already_proxy
        while such a link runs."""
        consent = body["consent"]
        spec = NewLink(
            proxy_id=body["proxy_id"],
            consent=Consent(
                method=ConsentMethod(consent["method"]),
                given_at=consent.get("given_at"),
                note=consent["note"],
                upload_id=consent["upload_id"],
            ),
            relation=body["relation"],
            starts_at=body.get("starts_at"),
            ends_at=body.get("ends_at"),
        )
        return link_proxy(extensions.unit_of_work(), current_actor(), user_id, spec, utcnow())


@blp.route("/proxy-links/<int:link_id>/end")
class EndLink(MethodView):
    @blp.arguments(EndLinkSchema)
    @blp.response(200, ProxyLinkSchema)
    def post(self, body: dict[str, Any], link_id: int) -> Any:
        """The proxy acts for the person no more, from now (consent withdrawn, moved away)."""
        return end_link(
            extensions.unit_of_work(), current_actor(), link_id, utcnow(), reason=body["reason"]
        )


@blp.route("/me/proxy-links")
class MyLinks(MethodView):
    @blp.response(200, ProxyLinkSchema(many=True))
    def get(self) -> Any:
        """Who acts for you, and whom you act for (代办)."""
        return my_links(extensions.session(), current_actor())


@blp.route("/me/proxy-acts")
class MyActs(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(ProxyActSchema, "ProxyActPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """What was done for you by a proxy, and what you did for others, newest first."""
        rows = my_acts(
            extensions.session(),
            current_actor(),
            limit=args["limit"] + 1,
            before_id=int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda act: act.id)


@blp.route("/people/<int:user_id>/proxy-acts")
class ActsFor(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(ProxyActSchema, "PersonProxyActPage"))
    def get(self, args: dict[str, Any], user_id: int) -> dict[str, Any]:
        """What proxies did for the person, newest first: staff who look after them, and
        whoever acts for them now."""
        rows = acts_for(
            extensions.session(),
            current_actor(),
            user_id,
            utcnow(),
            limit=args["limit"] + 1,
            before_id=int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda act: act.id)


@blp.route("/redemptions/<int:redemption_id>/slip")
class PickupSlip(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "the pickup slip (取货单), A6 PDF",
                "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    )
    def get(self, redemption_id: int) -> Response:
        """The pickup code on paper, for a resident with no phone: the redeemer, whoever
        acts for them, or staff looking after them. 409 redemption_not_held once it was
        picked up, cancelled or expired."""
        slip = pickup_slip(extensions.session(), current_actor(), redemption_id, utcnow())
        return Response(
            slip.content,
            mimetype=PDF,
            headers={"Content-Disposition": f'inline; filename="{slip.file_name}"'},
        )
