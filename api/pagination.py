"""Cursor pagination, the same on every list: ?limit= (default 20, max 100) and
?cursor= in, ``{"items": [...], "next_cursor": ... | null}`` out."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from marshmallow import Schema, fields, validate

from api.numbers import WholeNumber
from api.text import VerbatimText
from points.errors import InvalidInput

T = TypeVar("T")


class PageArgs(Schema):
    limit = WholeNumber(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = VerbatimText(load_default=None, validate=validate.Length(max=512))


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        # validate=True: a lenient decoder would quietly drop junk and restart the list.
        return base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("bad cursor", errors={"cursor": ["not a cursor we issued"]}) from None


def int_cursor(cursor: str | None) -> int:
    raw = decode_cursor(cursor)
    if raw is None:
        return 0
    if not raw.isdigit():
        raise InvalidInput("bad cursor", errors={"cursor": ["not a cursor we issued"]})
    return int(raw)


def time_id_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """A cursor of a list in time order, issued as ``<ISO time>|<id>`` (``time_id_key``)."""
    raw = decode_cursor(cursor)
    if raw is None:
        return None
    at, _, row_id = raw.partition("|")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not row_id.isdigit():
        raise InvalidInput("bad cursor", errors={"cursor": ["not a cursor we issued"]})
    return moment, int(row_id)


def time_id_key(at: datetime, row_id: int) -> str:
    return f"{at.isoformat()}|{row_id}"


def page(rows: Sequence[T], limit: int, key: Callable[[T], object]) -> dict[str, Any]:
    """``rows`` was fetched with ``limit + 1`` so we know whether more follow."""
    items = list(rows[:limit])
    more = len(rows) > limit and items
    next_cursor = base64.urlsafe_b64encode(str(key(items[-1])).encode()).decode() if more else None
    return {"items": items, "next_cursor": next_cursor}


def offset_page(rows: Sequence[T], limit: int, offset: int) -> dict[str, Any]:
    """For lists in an order with no stable key to resume from (nearest first)."""
    more = len(rows) > limit
    next_cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
    return {"items": list(rows[:limit]), "next_cursor": next_cursor}


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": VerbatimText(allow_none=True, required=True),
        },
        name=name,
    )
