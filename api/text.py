"""Text as the API takes it: every string field of every schema is one of these.

The rules are points/text.py's, so a request and a spreadsheet cell are judged alike.
A refused value is 422 naming the field, and ``invalid_text`` when text is all that is
wrong with the request (api/openapi.py). The OpenAPI document marks each field with
``x-text``: ``line``, ``multiline`` (line breaks and tabs welcome) or ``verbatim``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click
from marshmallow import ValidationError, fields

from points.text import InvalidText, TextKind, clean_text


class TextRefusal(str):
    """A field's error message that says its text was refused, told apart from the
    other messages of a failed load without matching their wording."""

    __slots__ = ()


class Text(fields.String):
    """One line: a name, a title, a door label, a reason. Trimmed and NFC."""

    kind = TextKind.LINE

    def __init__(self, **kwargs: Any) -> None:
        metadata = {**kwargs.pop("metadata", {}), "x-text": self.kind.value}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return clean_text(text, self.kind)
        except InvalidText as refused:
            raise ValidationError(TextRefusal(refused.problem)) from None


class MultilineText(Text):
    """Free text that may wrap: a description, a note, needs. Trimmed and NFC."""

    kind = TextKind.MULTILINE


class VerbatimText(Text):
    """A code, token, password or cursor: compared as issued, so never changed."""

    kind = TextKind.VERBATIM


def only_text_refused(messages: Any) -> bool:
    """Whether every message of a failed load (nested by location, field, list index)
    refuses text."""
    if isinstance(messages, Mapping):
        return bool(messages) and all(only_text_refused(m) for m in messages.values())
    if isinstance(messages, list):
        return bool(messages) and all(only_text_refused(m) for m in messages)
    return isinstance(messages, TextRefusal)


def cli_text(
    kind: TextKind = TextKind.LINE,
) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    """A click option's callback, so that what a command stores (an admin's name, an
    award batch) is text as the API would take it, or a usage error naming the option."""

    def clean(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return clean_text(value, kind)
        except InvalidText as refused:
            raise click.BadParameter(refused.problem) from None

    return clean
