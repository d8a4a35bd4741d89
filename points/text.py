"""What Lianxin takes as text, wherever it comes from: a request, a spreadsheet cell, the
name of an earning rule.

SQLite stores any string, PostgreSQL refuses NUL in text, and control characters that
reach a name break exports, spreadsheets and the mini-program's rendering. So text is
judged once, before it reaches either backend, by one of three rules:

- a **line** (names, titles, door labels, reasons): no control characters at all;
- **multi-line** text (descriptions, notes, needs): line breaks and tabs, nothing else;
  a CRLF or a lone CR is read as a line break, as a Windows textarea or Excel sends it;
- **verbatim** text (codes, tokens, passwords, cursors: what a machine issued): taken
  exactly as sent, and only refused if it holds a control character.

Lines and multi-line text are trimmed and normalised to NFC, so that 张伟 pasted with a
trailing newline, or "é" typed as e + a combining accent, is stored as one name. A lone
UTF-16 surrogate (JSON can spell one, ``"\\ud800"``) is not a character of any text and
no backend can store it, so every rule refuses it.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from points.errors import InvalidInput

# C0 controls, DEL, C1 controls and lone surrogates; a line also refuses the Unicode
# line and paragraph separators, which render as line breaks.
_NOT_IN_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NOT_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


class TextKind(StrEnum):
    LINE = "line"
    MULTILINE = "multiline"
    VERBATIM = "verbatim"


class InvalidText(InvalidInput):
    """Text with a character no text of this kind may hold."""

    code = "invalid_text"

    def __init__(self, problem: str, field: str | None = None) -> None:
        super().__init__(
            f"{field}: {problem}" if field else problem,
            errors={field: [problem]} if field else None,
        )
        self.problem = problem


def text_problem(value: str, kind: TextKind = TextKind.LINE) -> str | None:
    """Why ``value`` is not text of this kind as it stands, or None."""
    pattern = _NOT_IN_LINES if kind is TextKind.MULTILINE else _NOT_IN_A_LINE
    found = pattern.search(value)
    if found is None:
        return None
    char, position = found.group(), found.start() + 1
    name = f"U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        return f"holds {name} at character {position}, half of a UTF-16 pair, which is not text"
    if kind is TextKind.MULTILINE:
        allowed = "line breaks and tabs but no other control characters"
    else:
        allowed = "no line breaks or control characters"
    return f"holds {name} at character {position}; this text may hold {allowed}"


def clean_text(value: str, kind: TextKind = TextKind.LINE, field: str | None = None) -> str:
    """``value`` as Lianxin stores it, or InvalidText (naming ``field``) saying why not."""
    if kind is not TextKind.VERBATIM:
        if kind is TextKind.MULTILINE:
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        # Trimmed first, so a line pasted with its newline is still the line.
        value = unicodedata.normalize("NFC", value.strip())
    problem = text_problem(value, kind)
    if problem is not None:
        raise InvalidText(problem, field)
    return value
