"""``?near=lat,lng``: lists that can put the nearest first (tasks, stations)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, validate, validates_schema

from api.text import Text

_NUMBER = r"[-+]?(\d+\.?\d*|\.\d+)"


class NearArgs(Schema):
    near = Text(
        validate=validate.Regexp(f"^{_NUMBER} *, *{_NUMBER}$", error="give near as lat,lng"),
        metadata={"description": "lat,lng (GCJ-02): nearest first"},
    )

    @validates_schema
    def near_is_a_point(self, data: dict[str, Any], **_: Any) -> None:
        if "near" in data:
            try:
                lat, lng = (float(part) for part in data["near"].split(","))
            except ValueError:
                raise ValidationError("give near as lat,lng", "near") from None
            if not (-90 <= lat <= 90 and -180 <= lng <= 180):
                raise ValidationError("not a point on Earth", "near")
