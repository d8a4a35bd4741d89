"""Your notifications: the inbox, what is unread, which kinds reach you on WeChat, and
the subscribe-message allowances the mini-program asked you for."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, page, page_schema
from api.text import Text, VerbatimText
from points.notices import Topic
from service.db import utcnow
from service.notifications.inbox import mark_read, my_notifications, unread_count
from service.notifications.preferences import (
    SUBSCRIBE_ANSWERS,
    change_wechat_settings,
    record_subscriptions,
    wechat_settings,
)

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/v1/me", description="Your notifications"
)

_TOPICS = [topic.value for topic in Topic]


class JsonBoolean(fields.Boolean):
    """true or false only: "yes", 1 or "off" are refused, not guessed at."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class NotificationSchema(Schema):
    id = WholeNumber(required=True)
    kind = Text(required=True, attribute="topic", metadata={"enum": _TOPICS})
    title = Text(required=True)
    body = Text(required=True)
    data = fields.Dict(
        keys=Text(), required=True, attribute="facts", metadata={"description": "the facts told"}
    )
    page = Text(allow_none=True, metadata={"description": "the mini-program page to open"})
    created_at = fields.DateTime(required=True)
    read = fields.Method("_read", required=True)

    def _read(self, notification: Any) -> bool:
        return notification.read_at is not None


class ReadSchema(Schema):
    ids = fields.List(
        WholeNumber(validate=validate.Range(min=1)), validate=validate.Length(min=1, max=100)
    )
    all = JsonBoolean()

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if ("ids" in data) == bool(data.get("all")):
            raise ValidationError("give ids, or all: true", "_schema")


class ReadDoneSchema(Schema):
    marked = WholeNumber(required=True, metadata={"description": "how many were unread"})


class UnreadSchema(Schema):
    unread = WholeNumber(required=True)


class SettingsSchema(Schema):
    wechat = fields.Dict(
        keys=Text(validate=validate.OneOf(_TOPICS)),
        values=JsonBoolean(),
        required=True,
        metadata={
            "description": "per kind: whether WeChat messages are wanted (the inbox has all)"
        },
    )


class SubscriptionsSchema(Schema):
    results = fields.Dict(
        keys=VerbatimText(validate=validate.Length(min=1, max=64)),
        values=Text(validate=validate.OneOf(SUBSCRIBE_ANSWERS)),
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "wx.requestSubscribeMessage's answer per template id"},
    )


class AllowanceSchema(Schema):
    template_id = VerbatimText(required=True)
    remaining = WholeNumber(required=True)


class AllowancesSchema(Schema):
    items = fields.List(fields.Nested(AllowanceSchema), required=True)


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(NotificationSchema, "NotificationPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your notifications, newest first."""
        limit = args["limit"]
        rows = my_notifications(
            extensions.session(),
            current_actor(),
            before_id=int_cursor(args["cursor"]) or None,
            limit=limit,
        )
        return page(rows, limit, key=lambda row: row.id)


@blp.route("/notifications/read")
class Read(MethodView):
    @blp.arguments(ReadSchema)
    @blp.response(200, ReadDoneSchema)
    def post(self, body: dict[str, Any]) -> dict[str, int]:
        """Mark notifications read: `{ids: [...]}` (all yours, else 404) or `{all: true}`."""
        marked = mark_read(
            extensions.unit_of_work(),
            current_actor(),
            extensions.unread_counts(),
            ids=body.get("ids"),
            now=utcnow(),
        )
        return {"marked": marked}


@blp.route("/notifications/unread-count")
class Unread(MethodView):
    @blp.response(200, UnreadSchema)
    def get(self) -> dict[str, int]:
        """How many are unread (kept in Redis: cheap to poll on every page show)."""
        count = unread_count(extensions.session(), current_actor(), extensions.unread_counts())
        return {"unread": count}


@blp.route("/notification-settings")
class Settings(MethodView):
    @blp.response(200, SettingsSchema)
    def get(self) -> dict[str, Any]:
        """Which kinds reach you as WeChat messages."""
        return {"wechat": wechat_settings(extensions.session(), current_actor())}

    @blp.arguments(SettingsSchema)
    @blp.response(200, SettingsSchema)
    def patch(self, body: dict[str, Any]) -> dict[str, Any]:
        """Turn WeChat messages on or off per kind; the inbox keeps everything."""
        changed = change_wechat_settings(extensions.unit_of_work(), current_actor(), body["wechat"])
        return {"wechat": changed}


@blp.route("/subscriptions")
class Subscriptions(MethodView):
    @blp.arguments(SubscriptionsSchema)
    @blp.response(200, AllowancesSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """What wx.requestSubscribeMessage answered: each accept allows one message."""
        left = record_subscriptions(
            extensions.unit_of_work(),
            current_actor(),
            body["results"],
            extensions.wechat_templates(),
            utcnow(),
        )
        return {"items": [{"template_id": key, "remaining": n} for key, n in left.items()]}
