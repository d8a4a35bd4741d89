"""Whole numbers as the API takes them: an amount of points is never rounded for you.

JSON has one number type, and marshmallow's Integer would read 2.9 as 2, "2" as 2 and
true as 1. A whole number in a body must be a JSON integer; anything else is refused
with 422 naming the field, and nothing is stored. In a query string every value is
text, so there the digits are read as usual (2.9 or "true" still fail)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import fields


class WholeNumber(fields.Integer):
    default_error_messages = {"invalid": "Not a whole number."}  # noqa: RUF012

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        # JSON bodies are parsed into dicts (and a list's items are passed no data);
        # webargs hands query and form values in a MultiDict of strings.
        from_text = data is not None and not isinstance(data, dict)
        if isinstance(value, bool) or not (
            isinstance(value, int) or (from_text and isinstance(value, str))
        ):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)
