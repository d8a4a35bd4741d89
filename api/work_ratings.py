"""群众来评判 of task work: residents of the households it reached rate it, and staff
review the low ratings (the approvals view's 核查 queue)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.demand_schemas import RatingSchema
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, offset_page, page_schema
from api.text import MultilineText, Text
from service.db import utcnow
from service.tasks.ratings import my_rateable_work, rate_participation, rated_work, review_rating

blp = Blueprint(
    "work_ratings", __name__, url_prefix="/api/v1", description="Ratings of task work (群众来评判)"
)


class ParticipationRatingSchema(Schema):
    id = WholeNumber(required=True)
    participation_id = WholeNumber(required=True)
    household_id = WholeNumber(required=True)
    score = WholeNumber(required=True)
    comment = MultilineText(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    reviewed_at = fields.DateTime(allow_none=True)
    review_note = MultilineText(allow_none=True)


class RatedWorkSchema(Schema):
    rating = fields.Nested(ParticipationRatingSchema, required=True)
    task_id = WholeNumber(attribute="participation.task_id", required=True)
    task_title = Text(required=True)
    household_label = Text(required=True)
    user_id = WholeNumber(attribute="participation.user_id", required=True)
    volunteer_name = Text(allow_none=True)
    status = Text(attribute="participation.status", required=True)


class RatedWorkArgs(PageArgs):
    org_id = WholeNumber(validate=validate.Range(min=1))
    waiting = fields.Boolean(
        load_default=True,
        metadata={"description": "only low ratings (1–2) not reviewed yet; false: all"},
    )


class RatingReviewSchema(Schema):
    note = MultilineText(required=True, validate=validate.Length(min=2, max=500))


class RateableWorkSchema(Schema):
    participation_id = WholeNumber(attribute="participation.id", required=True)
    task_title = Text(required=True)
    household_id = WholeNumber(required=True)
    household_label = Text(required=True)
    volunteer_name = Text(allow_none=True)
    approved_at = fields.DateTime(attribute="participation.decided_at", allow_none=True)
    my_score = WholeNumber(allow_none=True, metadata={"description": "null: not rated yet"})


@blp.route("/participations/<int:participation_id>/rating")
class RateWork(MethodView):
    @blp.arguments(RatingSchema)
    @blp.response(200, ParticipationRatingSchema)
    def post(self, body: dict[str, Any], participation_id: int) -> Any:
        """Rate approved work that reached your household, 1 to 5 (once per household,
        changeable for 7 days). 1 or 2 puts it back before staff (核查)."""
        return rate_participation(
            extensions.unit_of_work(),
            current_actor(),
            participation_id,
            body["score"],
            body["comment"],
            utcnow(),
            checks=extensions.content_checks(),
        )


@blp.route("/participation-ratings")
class RatedWork(MethodView):
    @blp.arguments(RatedWorkArgs, location="query")
    @blp.response(200, page_schema(RatedWorkSchema, "RatedWorkPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Residents' ratings of work in the places you approve for, newest first: by
        default the low ones waiting for your review."""
        offset = int_cursor(args["cursor"])
        rows = rated_work(
            extensions.session(),
            current_actor(),
            place_id=args.get("org_id"),
            waiting_only=args["waiting"],
            limit=args["limit"] + 1,
            offset=offset,
        )
        return offset_page(rows, args["limit"], offset)


@blp.route("/participation-ratings/<int:rating_id>/review")
class ReviewRating(MethodView):
    @blp.arguments(RatingReviewSchema)
    @blp.response(200, ParticipationRatingSchema)
    def post(self, body: dict[str, Any], rating_id: int) -> Any:
        """You looked at the low-rated work again and it stands, saying why (to undo it,
        reverse the approval instead)."""
        return review_rating(
            extensions.unit_of_work(), current_actor(), rating_id, body["note"], utcnow()
        )


@blp.route("/me/rateable-work")
class MyRateableWork(MethodView):
    @blp.response(200, RateableWorkSchema(many=True))
    def get(self) -> Any:
        """Work approved in the last 30 days that reached a household you live in, with
        your rating if you gave one."""
        return my_rateable_work(extensions.session(), current_actor(), utcnow())
