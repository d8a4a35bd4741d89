"""Signing up for tasks, and one's own participations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor, current_claims
from api.idempotency import HEADER_DOC, keyed_request, once, respond
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, page, page_schema
from api.text import MultilineText, Text, VerbatimText
from points.tasks import Flag, ParticipationStatus
from service.db import utcnow
from service.idempotency.store import StoredResponse
from service.tasks.attendance import (
    Offline,
    Position,
    check_in,
    check_in_once,
    check_out,
    checkin_code_for,
)
from service.tasks.signups import cancel_sign_up, confirm_offer, my_participations, sign_up

blp = Blueprint(
    "participations",
    __name__,
    url_prefix="/api/v1",
    description="Taking part in tasks (报名、签到、提交)",
)


class ParticipationSchema(Schema):
    id = WholeNumber(required=True)
    task_id = WholeNumber(required=True)
    user_id = WholeNumber(required=True)
    status = Text(required=True, metadata={"enum": [s.value for s in ParticipationStatus]})
    role = Text(metadata={"description": "the role served in, which prices the work"})
    signed_up_at = fields.DateTime(metadata={"description": "on the waitlist, its order"})
    offer_expires_at = fields.DateTime(
        allow_none=True, metadata={"description": "while offered a place: confirm by then"}
    )
    checked_in_at = fields.DateTime(
        allow_none=True, metadata={"description": "offline: the phone's stated time"}
    )
    checked_out_at = fields.DateTime(
        allow_none=True, metadata={"description": "offline: the phone's stated time"}
    )
    checkin_received_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "when an offline check-in reached the server; null online"},
    )
    checkout_received_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "when an offline check-out reached the server; null online"},
    )
    hours = fields.Float(allow_none=True, metadata={"description": "within the task window"})
    checkin_distance_m = fields.Float(allow_none=True)
    failed_checkins = WholeNumber()
    flags = fields.List(
        Text(metadata={"enum": [flag.value for flag in Flag]}),
        metadata={"description": "signs for the approver; offline: taken without signal"},
    )
    note = MultilineText(allow_none=True)
    units = WholeNumber(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    reject_reason = Text(allow_none=True)
    no_show_at = fields.DateTime(
        allow_none=True, metadata={"description": "no_show or excused: when the task ended"}
    )
    excused_at = fields.DateTime(allow_none=True)
    excuse_reason = Text(allow_none=True)
    manual_entry = fields.Boolean(
        metadata={"description": "补录: hours entered by staff, not measured by check-in"}
    )
    entered_by_id = WholeNumber(allow_none=True, metadata={"description": "who entered it"})
    entry_reason = Text(allow_none=True, metadata={"description": "why it was entered by hand"})
    needs_second_staff = fields.Boolean(
        metadata={"description": "someone other than who entered it must approve it"}
    )


class PositionSchema(Schema):
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lng = fields.Float(validate=validate.Range(min=-180, max=180))
    accuracy = fields.Float(
        validate=validate.Range(min=0, max=100_000),
        metadata={"description": "metres, as wx.getLocation reports it"},
    )
    taken_at = fields.AwareDateTime(
        metadata={
            "description": "offline (离线): when the phone took it, ISO 8601 with offset; "
            "needs an Idempotency-Key, and must arrive within 12 hours (configurable)"
        }
    )


class CheckinSchema(PositionSchema):
    code = VerbatimText(
        validate=validate.Length(max=40),
        metadata={"description": "the code (or QR scene) staff show"},
    )


class CheckinCodeSchema(Schema):
    code = VerbatimText(required=True)
    scene = VerbatimText(required=True, metadata={"description": "≤ 32 chars, for a QR"})
    expires_at = fields.DateTime(required=True)
    refresh_at = fields.DateTime(required=True, metadata={"description": "fetch the next"})


def position(body: dict[str, Any]) -> Position:
    return Position(lat=body.get("lat"), lng=body.get("lng"), accuracy_m=body.get("accuracy"))


def offline(body: dict[str, Any]) -> Offline | None:
    taken_at = body.get("taken_at")
    if taken_at is None:
        return None
    return Offline(taken_at, timedelta(hours=extensions.settings().offline_checkin_hours))


# Built once: a keyed answer is dumped here (to be replayed byte for byte).
_PARTICIPATION = ParticipationSchema()

# Why an offline attempt must carry a key: its queue resends until it hears back.
_OFFLINE_KEY = "an offline check-in or check-out (taken_at)"


@blp.route("/tasks/<int:task_id>/signups")
class SignUps(MethodView):
    @blp.response(201, ParticipationSchema)
    def post(self, task_id: int) -> Any:
        """Sign up for a published task while places are left (one sign-up each); with
        none left, 409 ``task_full``: the member may join its waitlist."""
        return sign_up(extensions.unit_of_work(), current_actor(), task_id, utcnow())


@blp.route("/tasks/<int:task_id>/waitlist")
class Waitlist(MethodView):
    @blp.response(201, ParticipationSchema)
    def post(self, task_id: int) -> Any:
        """Sign up, or, with no place left, join the task's waitlist (候补, status
        ``waitlisted``): a place that frees is offered to the first in line, who confirms
        it before ``offer_expires_at`` (``POST /participations/{id}/confirm``)."""
        return sign_up(extensions.unit_of_work(), current_actor(), task_id, utcnow(), waitlist=True)


@blp.route("/participations/<int:participation_id>/cancel")
class Cancel(MethodView):
    @blp.response(200, ParticipationSchema)
    def post(self, participation_id: int) -> Any:
        """Withdraw (or leave the waitlist, or decline an offered place) before the task
        starts; the place goes to the first on the waitlist, or back to others."""
        return cancel_sign_up(
            extensions.unit_of_work(), current_actor(), participation_id, utcnow()
        )


@blp.route("/participations/<int:participation_id>/confirm")
class Confirm(MethodView):
    @blp.response(200, ParticipationSchema)
    def post(self, participation_id: int) -> Any:
        """Take a place offered from the waitlist before ``offer_expires_at``."""
        return confirm_offer(extensions.unit_of_work(), current_actor(), participation_id, utcnow())


@blp.route("/tasks/<int:task_id>/checkin-code")
class CheckinCode(MethodView):
    @blp.response(200, CheckinCodeSchema)
    def get(self, task_id: int) -> Any:
        """The rotating code for staff to show (valid one to two minutes, used once each)."""
        return checkin_code_for(
            extensions.session(),
            current_actor(),
            task_id,
            extensions.settings().secret_key,
            utcnow(),
        )


@blp.route("/participations/<int:participation_id>/checkin")
class CheckIn(MethodView):
    @blp.arguments(CheckinSchema)
    @blp.response(200, ParticipationSchema)
    @blp.doc(parameters=[HEADER_DOC])
    def post(self, body: dict[str, Any], participation_id: int) -> Any:
        """Check in within [start − 30 min, end], inside the fence and/or with the code.
        Refusals say why (outside_window, outside_geofence, bad_checkin_code) and count.

        Taken offline (``taken_at``, with an Idempotency-Key): judged as of that time
        (the window, the code then valid ± one step, travel) and flagged ``offline``;
        422 device_time_in_future, device_time_before_signup or
        idempotency_key_required, 409 offline_too_late; a resend gets the first answer."""
        claims, now, attempt = current_claims(), utcnow(), offline(body)
        key = keyed_request(
            claims.user_id, body, required=_OFFLINE_KEY if attempt is not None else None
        )
        where, code, secret = position(body), body.get("code"), extensions.settings().secret_key
        if key is None:
            return check_in(
                extensions.unit_of_work(), claims, participation_id, where, code, secret, now
            )
        return respond(
            check_in_once(
                extensions.unit_of_work(),
                key,
                lambda participation: StoredResponse(200, _PARTICIPATION.dump(participation)),
                claims,
                participation_id,
                where,
                code,
                secret,
                now,
                attempt,
            )
        )


@blp.route("/participations/<int:participation_id>/checkout")
class CheckOut(MethodView):
    @blp.arguments(PositionSchema)
    @blp.response(200, ParticipationSchema)
    @blp.doc(parameters=[HEADER_DOC])
    def post(self, body: dict[str, Any], participation_id: int) -> Any:
        """Check out; hours are counted within the task's window. Taken offline
        (``taken_at``, with an Idempotency-Key): hours from the stated times, flagged
        ``offline``; not before the check-in (422 checkout_before_checkin)."""
        actor, now, attempt = current_actor(), utcnow(), offline(body)
        return once(
            actor,
            body,
            lambda session: check_out(
                session, actor, participation_id, position(body), now, attempt
            ),
            _PARTICIPATION.dump,
            status=200,
            required=_OFFLINE_KEY if attempt is not None else None,
        )


@blp.route("/me/participations")
class Mine(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(ParticipationSchema, "ParticipationPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your participations, newest first."""
        rows = my_participations(
            extensions.session(),
            current_actor(),
            args["limit"] + 1,
            int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda row: row.id)
