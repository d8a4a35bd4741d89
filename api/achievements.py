"""服务星级与徽章: your level by verified hours and your badges, and a member's public
card (名片) as neighbours see it."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.text import Text
from points.achievements import BadgeCode, BadgeProgress, Measure
from points.calendar import local_date
from service.achievements.card import member_card
from service.achievements.standing import my_achievements
from service.db import utcnow

blp = Blueprint(
    "achievements", __name__, url_prefix="/api/v1", description="Service levels and badges"
)


class LevelSchema(Schema):
    rank = WholeNumber(required=True, metadata={"description": "1 for the first level"})
    name = Text(required=True, metadata={"example": "一星"})
    threshold = fields.Float(required=True, metadata={"description": "verified hours it needs"})


class BadgeSchema(Schema):
    code = Text(required=True, validate=validate.OneOf([c.value for c in BadgeCode]))
    name = Text(required=True, metadata={"example": "首次入户走访"})
    earned_on = fields.Date(
        required=True, metadata={"description": "the local day of the service that earned it"}
    )


class BadgeToEarnSchema(Schema):
    code = Text(required=True, validate=validate.OneOf([c.value for c in BadgeCode]))
    name = Text(required=True)
    measure = Text(
        required=True,
        validate=validate.OneOf([m.value for m in Measure]),
        metadata={"description": "services, hours, or months running (ending this month or last)"},
    )
    progress = fields.Float(required=True)
    goal = WholeNumber(required=True)


class AchievementsSchema(Schema):
    hours = fields.Float(required=True, metadata={"description": "verified hours, all time"})
    level = fields.Nested(LevelSchema, allow_none=True, required=True)
    reached_on = fields.Date(allow_none=True, required=True)
    next_level = fields.Nested(LevelSchema, allow_none=True, required=True)
    hours_to_go = fields.Float(allow_none=True, required=True)
    badges = fields.List(fields.Nested(BadgeSchema), required=True)
    badges_to_earn = fields.List(fields.Nested(BadgeToEarnSchema), required=True)


class CardSchema(Schema):
    user_id = WholeNumber(required=True)
    display_name = Text(required=True, metadata={"description": "masked (张**) if anonymous"})
    avatar_url = Text(allow_none=True, required=True)
    anonymous = fields.Boolean(
        required=True, metadata={"description": "the member hides from the leaderboards"}
    )
    level = fields.Nested(LevelSchema, allow_none=True, required=True)
    badges = fields.List(fields.Nested(BadgeSchema), required=True)


def _earned(badge: BadgeProgress) -> dict[str, Any]:
    return {"code": badge.rule.code, "name": badge.rule.name, "earned_on": badge.earned_on}


def _to_earn(badge: BadgeProgress) -> dict[str, Any]:
    rule = badge.rule
    return {
        "code": rule.code,
        "name": rule.name,
        "measure": rule.measure,
        "progress": badge.progress,
        "goal": rule.goal,
    }


@blp.route("/me/achievements")
class MyAchievements(MethodView):
    @blp.response(200, AchievementsSchema)
    def get(self) -> dict[str, Any]:
        """Your 服务星级 by verified hours (approved service, less what was reversed),
        the hours to the next level, the badges you earned and those still to earn."""
        mine = my_achievements(
            extensions.session(),
            current_actor(),
            extensions.settings().service_levels,
            local_date(utcnow()),
        )
        standing = mine.standing
        return {
            "hours": standing.hours,
            "level": standing.level,
            "reached_on": standing.reached_on,
            "next_level": standing.next_level,
            "hours_to_go": standing.hours_to_go,
            "badges": [_earned(b) for b in mine.earned],
            "badges_to_earn": [_to_earn(b) for b in mine.to_earn],
        }


@blp.route("/users/<int:user_id>/card")
class MemberCard(MethodView):
    @blp.response(200, CardSchema)
    def get(self, user_id: int) -> dict[str, Any]:
        """A member's card: the name they show others, their level and badges; no phone,
        no home. For people of the same community and staff whose places cover where
        the member lives; anyone else gets 404."""
        card = member_card(
            extensions.session(),
            current_actor(),
            user_id,
            extensions.settings().service_levels,
            local_date(utcnow()),
        )
        return {
            "user_id": card.user_id,
            "display_name": card.display_name,
            "avatar_url": card.avatar_url,
            "anonymous": card.anonymous,
            "level": card.level,
            "badges": [_earned(b) for b in card.badges],
        }
