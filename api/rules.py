"""Earning rules: draft, check, simulate and publish them; see their history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, post_load, validate

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.text import MultilineText, Text
from points.access import Role
from points.currency import Currency
from points.rules import (
    EARNING_ROLES,
    Category,
    EarnedSoFar,
    EarningEvent,
    Facts,
    TaskType,
    WorkUnit,
    parse_rule_set,
)
from service.audit.log import history
from service.rules import rule_sets

blp = Blueprint(
    "rules", __name__, url_prefix="/api/v1/rule-sets", description="Earning rules (积分规则)"
)


def choices(kind: Any) -> validate.OneOf:
    return validate.OneOf([member.value for member in kind])


class RuleSetSchema(Schema):
    id = WholeNumber(dump_only=True)
    org_id = WholeNumber(attribute="place_id", required=True, validate=validate.Range(min=1))
    version = WholeNumber(dump_only=True)
    status = Text(dump_only=True, metadata={"enum": ["draft", "published"]})
    label = Text(dump_only=True, metadata={"example": "place:2/v3"})
    effective_from = fields.Date(required=True)
    content = fields.Dict(required=True, metadata={"description": "rules and caps; see docs"})
    note = MultilineText(load_default="", validate=validate.Length(max=500))
    created_at = fields.DateTime(dump_only=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)


class RuleSetChangesSchema(Schema):
    effective_from = fields.Date()
    content = fields.Dict()
    note = MultilineText(validate=validate.Length(max=500))


class RuleSetListArgs(Schema):
    org_id = WholeNumber(required=True, validate=validate.Range(min=1))


class ContentSchema(Schema):
    content = fields.Dict(required=True)


class ValidationResultSchema(Schema):
    valid = fields.Boolean(required=True)
    rules = WholeNumber(required=True)


class FactsSchema(Schema):
    event = Text(required=True, validate=choices(EarningEvent))
    role = Text(required=True, validate=validate.OneOf([role.value for role in EARNING_ROLES]))
    task_type = Text(load_default=None, validate=choices(TaskType))
    category = Text(load_default=None, validate=choices(Category))
    # Range is written as a number here: apispec would render a Decimal bound as a string.
    hours = fields.Decimal(
        load_default=Decimal(0),
        places=2,
        validate=validate.Range(min=0, max=10_000),
        metadata={"minimum": 0, "maximum": 10_000, "default": 0},
    )
    units = WholeNumber(load_default=0, validate=validate.Range(min=0))
    work_unit = Text(load_default=None, validate=choices(WorkUnit))

    @post_load
    def to_facts(self, data: dict[str, Any], **_: Any) -> Facts:
        def optional(kind: Any, value: str | None) -> Any:
            return kind(value) if value else None

        return Facts(
            event=EarningEvent(data["event"]),
            role=Role(data["role"]),
            task_type=optional(TaskType, data["task_type"]),
            category=optional(Category, data["category"]),
            hours=data["hours"],
            units=data["units"],
            work_unit=optional(WorkUnit, data["work_unit"]),
        )


class WindowSchema(Schema):
    day = WholeNumber(load_default=0, validate=validate.Range(min=0))
    week = WholeNumber(load_default=0, validate=validate.Range(min=0))
    month = WholeNumber(load_default=0, validate=validate.Range(min=0))
    year = WholeNumber(load_default=0, validate=validate.Range(min=0))


class EarnedSchema(Schema):
    """What the member already earned in each window, per currency."""

    jifen = fields.Nested(WindowSchema)
    xingfubi = fields.Nested(WindowSchema)


class SimulationSchema(Schema):
    facts = fields.Nested(FactsSchema, required=True)
    earned = fields.Nested(EarnedSchema, load_default=dict)

    @post_load
    def to_earned(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        earned = {Currency(code): EarnedSoFar(**w) for code, w in data["earned"].items()}
        return {"facts": data["facts"], "earned": earned}


class AwardSchema(Schema):
    currency = Text()
    amount = WholeNumber()
    uncapped = WholeNumber()
    explanation = Text()


class EvaluationSchema(Schema):
    rule_index = WholeNumber(allow_none=True)
    rule_name = Text(allow_none=True)
    awards = fields.List(fields.Nested(AwardSchema))


class RuleSetListSchema(Schema):
    items = fields.List(fields.Nested(RuleSetSchema))


class AuditEntrySchema(Schema):
    id = WholeNumber()
    actor_id = WholeNumber(allow_none=True)
    action = Text()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    at = fields.DateTime()


class HistorySchema(Schema):
    items = fields.List(fields.Nested(AuditEntrySchema))


@blp.route("")
class RuleSets(MethodView):
    @blp.arguments(RuleSetListArgs, location="query")
    @blp.response(200, RuleSetListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every version at a place, newest first (staff and admins there)."""
        return {
            "items": rule_sets.list_versions(extensions.session(), current_actor(), args["org_id"])
        }

    @blp.arguments(RuleSetSchema)
    @blp.response(201, RuleSetSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Draft a new version of a place's rules (admins). The content must be valid."""
        return rule_sets.draft_rule_set(
            extensions.unit_of_work(),
            current_actor(),
            body["place_id"],
            body["content"],
            body["effective_from"],
            body["note"],
        )


@blp.route("/validate")
class Validate(MethodView):
    @blp.arguments(ContentSchema)
    @blp.response(200, ValidationResultSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Check rule-set content; 422 lists every problem by its place in the content."""
        return {"valid": True, "rules": len(parse_rule_set(body["content"]).rules)}


@blp.route("/<int:rule_set_id>")
class OneRuleSet(MethodView):
    @blp.response(200, RuleSetSchema)
    def get(self, rule_set_id: int) -> Any:
        return rule_sets.get_version(extensions.session(), current_actor(), rule_set_id)

    @blp.arguments(RuleSetChangesSchema)
    @blp.response(200, RuleSetSchema)
    def patch(self, body: dict[str, Any], rule_set_id: int) -> Any:
        """Change a draft; a published version never changes."""
        return rule_sets.change_draft(
            extensions.unit_of_work(), current_actor(), rule_set_id, **body
        )


@blp.route("/<int:rule_set_id>/publish")
class Publish(MethodView):
    @blp.response(200, RuleSetSchema)
    def post(self, rule_set_id: int) -> Any:
        """Publish a draft: from its effective date it prices work at its place and below."""
        return rule_sets.publish_rule_set(extensions.unit_of_work(), current_actor(), rule_set_id)


@blp.route("/<int:rule_set_id>/simulate")
class Simulate(MethodView):
    @blp.arguments(SimulationSchema)
    @blp.response(200, EvaluationSchema)
    def post(self, body: dict[str, Any], rule_set_id: int) -> Any:
        """What this version would award for hypothetical work. Nothing is written."""
        return rule_sets.simulate_rule_set(
            extensions.session(), current_actor(), rule_set_id, body["facts"], body["earned"]
        )


@blp.route("/<int:rule_set_id>/history")
class History(MethodView):
    @blp.response(200, HistorySchema)
    def get(self, rule_set_id: int) -> dict[str, Any]:
        """Who drafted, changed and published this version, with before and after."""
        version = rule_sets.get_version(extensions.session(), current_actor(), rule_set_id)
        return {"items": history(extensions.session(), "rule_set", version.id)}
