"""内容安全 at the edge: staff's list of held and quarantined content and its release,
and WeChat's message push (the photo verdicts) at /api/v1/wechat/events."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from marshmallow import INCLUDE, Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, page, page_schema
from api.text import Text, VerbatimText
from points.content import ReviewStatus
from service.db import utcnow
from service.moderation.events import answer_handshake, handle_push
from service.moderation.models import ContentReview
from service.moderation.review import ReviewFilter, list_reviews, release_content

blp = Blueprint(
    "content", __name__, url_prefix="/api/v1", description="Content security (内容安全)"
)
# WeChat signs its pushes itself: no bearer token (api/authentication.py).
events = Blueprint(
    "wechat_events", __name__, url_prefix="/api/v1", description="WeChat message push"
)


class ReviewSchema(Schema):
    id = WholeNumber()
    subject = Text(metadata={"description": "demand, rating, participation, visit or upload"})
    subject_id = WholeNumber()
    field = Text(metadata={"description": "the text held (description, comment, note)"})
    author_id = WholeNumber()
    org_id = WholeNumber(attribute="place_id", allow_none=True)
    status = Text()
    label = WholeNumber(allow_none=True, metadata={"description": "WeChat's label"})
    reason = Text(metadata={"description": "why held without WeChat's verdict, if so"})
    used_in = Text(allow_none=True, metadata={"description": "a photo's work: demand, …"})
    used_in_id = WholeNumber(allow_none=True)
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by_id = WholeNumber(allow_none=True)


class ReviewListArgs(PageArgs):
    org_id = WholeNumber(required=True, validate=validate.Range(min=1))
    status = Text(
        load_default=ReviewStatus.HELD.value,
        validate=validate.OneOf([ReviewStatus.HELD.value, ReviewStatus.QUARANTINED.value]),
    )


@blp.route("/content-reviews")
class Reviews(MethodView):
    @blp.arguments(ReviewListArgs, location="query")
    @blp.response(200, page_schema(ReviewSchema, "ContentReviewPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """What waits for staff in a place's subtree, newest first: text and photos held
        (``held``, release them), or photos WeChat found risky (``quarantined``: their
        demand, submission or visit is ``used_in``)."""
        wanted = ReviewFilter(args["org_id"], ReviewStatus(args["status"]))
        rows = list_reviews(
            extensions.session(),
            current_actor(),
            wanted,
            args["limit"] + 1,
            int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda row: row.id)


@blp.route("/content-reviews/<int:review_id>/release")
class Release(MethodView):
    @blp.response(200, ReviewSchema)
    def post(self, review_id: int) -> ContentReview:
        """Let held text or a held photo be seen (staff of its place; not one's own)."""
        return release_content(extensions.unit_of_work(), current_actor(), review_id, utcnow())


class HandshakeArgs(Schema):
    signature = VerbatimText(load_default="")
    timestamp = VerbatimText(load_default="")
    nonce = VerbatimText(load_default="")
    echostr = VerbatimText(load_default="")


class PushArgs(Schema):
    signature = VerbatimText(load_default="")
    timestamp = VerbatimText(load_default="")
    nonce = VerbatimText(load_default="")
    openid = VerbatimText(load_default="")
    encrypt_type = VerbatimText(load_default="raw")
    msg_signature = VerbatimText(load_default="")


class PushBody(Schema):
    """Plain mode sends the event's fields; 安全模式 only these two. The signature is
    checked over the body as sent, not as loaded here."""

    class Meta:
        unknown = INCLUDE

    ToUserName = VerbatimText()
    Encrypt = VerbatimText()


@events.route("/wechat/events")
class WechatEvents(MethodView):
    @events.arguments(HandshakeArgs, location="query")
    @events.doc(security=[], responses={"200": {"description": "the echostr, if signed"}})
    def get(self, args: dict[str, str]) -> Response:
        """WeChat's check of the push URL when it is saved: echo ``echostr``."""
        echo = answer_handshake(extensions.push_config(), args)
        return Response(echo, mimetype="text/plain")

    @events.arguments(PushArgs, location="query")
    @events.arguments(PushBody)
    @events.doc(security=[], responses={"200": {"description": "success"}})
    def post(self, args: dict[str, str], body: dict[str, Any]) -> Response:
        """A push from WeChat (JSON data format; plain or 安全模式): photo check verdicts
        (``wxa_media_check``). A push not signed by WeChat is 403 and changes nothing."""
        handle_push(
            extensions.unit_of_work(),
            extensions.push_config(),
            args,
            request.get_data(cache=True),
            utcnow(),
        )
        return Response("success", mimetype="text/plain")
