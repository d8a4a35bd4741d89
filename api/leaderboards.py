"""Leaderboards (排行榜): who earned most in a place, branch or department."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.text import Text
from points.leaderboard import Period
from service.db import utcnow
from service.leaderboards.reading import read_board

blp = Blueprint(
    "leaderboards", __name__, url_prefix="/api/v1/leaderboards", description="Leaderboards"
)

AROUND_ME = 5  # people shown either side of the caller with ?around=me


class BoardArgs(Schema):
    scope = Text(
        required=True,
        validate=validate.Regexp(r"^(org|branch|dept):[1-9][0-9]{0,9}$"),
        metadata={
            "description": "org:<place id>, branch:<branch id> or dept:<department id>",
            "example": "org:1",
        },
    )
    period = Text(
        load_default=Period.ALL.value,
        validate=validate.OneOf([p.value for p in Period]),
        metadata={"description": "the current ISO week, month, quarter or year (Beijing time)"},
    )
    limit = WholeNumber(load_default=20, validate=validate.Range(min=1, max=100))
    around = Text(
        load_default=None,
        validate=validate.OneOf(["me"]),
        metadata={"description": f"'me': also the {AROUND_ME} people either side of you"},
    )


class EntrySchema(Schema):
    rank = WholeNumber(
        required=True, metadata={"description": "competition rank: ties share it (1, 2, 2, 4)"}
    )
    user_id = WholeNumber(required=True)
    name = Text(required=True)
    score = WholeNumber(required=True, metadata={"description": "points earned"})


class MineSchema(Schema):
    rank = WholeNumber(required=True)
    score = WholeNumber(required=True)


class BoardSchema(Schema):
    items = fields.List(
        fields.Nested(EntrySchema),
        required=True,
        metadata={"description": "best first; inside a tie, lower user id first"},
    )
    me = fields.Nested(MineSchema, allow_none=True, required=True)
    around = fields.List(fields.Nested(EntrySchema), required=True)
    stale = fields.Boolean(
        required=True,
        metadata={"description": "true when answered from the database because Redis couldn't"},
    )


@blp.route("/<string:currency>")
class Leaderboard(MethodView):
    @blp.arguments(BoardArgs, location="query")
    @blp.response(200, BoardSchema)
    def get(self, args: dict[str, Any], currency: str) -> Any:
        """Points earned (not spent) in a place, branch or department this period: the
        top, your own rank, and with around=me the people near you. People who chose
        not to be shown, or whom staff took off, are left out without gaps."""
        return read_board(
            extensions.session(),
            extensions.leaderboards(),
            current_actor(),
            currency,
            args["scope"],
            Period(args["period"]),
            limit=args["limit"],
            around=AROUND_ME if args["around"] == "me" else 0,
            now=utcnow(),
        )
