"""The audit trail (审计日志): changes of rights and decisions that moved points, for
the admins of the places they happened in."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, post_load, validate

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, page, page_schema
from api.text import Text, VerbatimText
from service.audit.log import AuditKind
from service.audit.trail import audit_trail

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit trail (审计)")


class AuditArgs(PageArgs):
    scope = Text(
        required=True,
        validate=validate.Regexp(r"^org:[1-9][0-9]{0,9}$"),
        metadata={
            "description": "org:<place id>: what happened there and below",
            "example": "org:1",
        },
    )
    kind = Text(
        validate=validate.OneOf([kind.value for kind in AuditKind]),
        metadata={"description": "only entries of this kind (the action before its dot)"},
    )

    @post_load
    def to_query(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {
            "place_id": int(data["scope"].partition(":")[2]),
            "kind": AuditKind(data["kind"]) if "kind" in data else None,
            "limit": data["limit"],
            "before_id": int_cursor(data["cursor"]) or None,
        }


class AuditTrailEntrySchema(Schema):
    id = WholeNumber(required=True)
    at = fields.DateTime(required=True)
    kind = Text(required=True, metadata={"enum": [kind.value for kind in AuditKind]})
    action = Text(required=True, metadata={"example": "participation.approve"})
    actor_id = WholeNumber(
        required=True, allow_none=True, metadata={"description": "null: done at the console"}
    )
    object_type = Text(required=True)
    object_id = WholeNumber(required=True)
    org_id = WholeNumber(
        attribute="place_id",
        required=True,
        allow_none=True,
        metadata={"description": "where it happened; null: the whole organisation's"},
    )
    before = fields.Dict(required=True, allow_none=True)
    after = fields.Dict(required=True, allow_none=True)
    request_id = VerbatimText(
        required=True,
        allow_none=True,
        metadata={"description": "the request's X-Request-ID; null: done at the console"},
    )


@blp.route("")
class AuditTrail(MethodView):
    @blp.arguments(AuditArgs, location="query")
    @blp.response(200, page_schema(AuditTrailEntrySchema, "AuditPage"))
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Grants given, moved and revoked; work approved, rejected and reversed; points
        awarded, deducted and reversed; goods handed over and holds cancelled; rules
        changed. Newest first; admins of the place (and above) only."""
        limit = query.pop("limit")
        rows = audit_trail(extensions.session(), current_actor(), limit=limit + 1, **query)
        return page(rows, limit, key=lambda entry: entry.id)
