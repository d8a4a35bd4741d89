"""What Lianxin takes as text: lines, multi-line text and verbatim text."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points.errors import InvalidInput
from points.text import InvalidText, TextKind, clean_text, text_problem

KINDS = list(TextKind)
# Every C0 control, DEL and every C1 control.
CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("char", [c for c in CONTROLS if c not in "\t\n\r"])
def test_no_kind_of_text_holds_a_control_character(kind: TextKind, char: str) -> None:
    with pytest.raises(InvalidText) as raised:
        clean_text(f"张{char}伟", kind, field="name")
    assert raised.value.code == "invalid_text"
    assert isinstance(raised.value, InvalidInput)  # 422 wherever domain errors are mapped
    assert f"U+{ord(char):04X} at character 2" in str(raised.value.errors["name"])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("surrogate", [chr(0xD800), chr(0xDFFF)])
def test_a_lone_surrogate_is_not_text(kind: TextKind, surrogate: str) -> None:
    problem = text_problem(f"a{surrogate}", kind)
    assert problem is not None
    assert "not text" in problem


@pytest.mark.parametrize("kind", [TextKind.LINE, TextKind.VERBATIM])
@pytest.mark.parametrize("char", ["\t", "\n", "\r", "\u2028", "\u2029"])
def test_a_line_holds_no_line_break_or_tab_inside(kind: TextKind, char: str) -> None:
    with pytest.raises(InvalidText):
        clean_text(f"第一行{char}第二行", kind)


def test_multi_line_text_keeps_line_breaks_and_tabs_and_reads_cr_as_a_line_break() -> None:
    assert clean_text("第一行\n\t第二行", TextKind.MULTILINE) == "第一行\n\t第二行"
    assert clean_text("一\r\n二\r三", TextKind.MULTILINE) == "一\n二\n三"
    with pytest.raises(InvalidText):
        clean_text("一\n二\x00", TextKind.MULTILINE)


@pytest.mark.parametrize("kind", [TextKind.LINE, TextKind.MULTILINE])
def test_lines_and_multi_line_text_are_trimmed_and_nfc(kind: TextKind) -> None:
    decomposed = "Jose\u0301 张伟"
    assert clean_text(f" \u3000{decomposed}\n ", kind) == "José 张伟"
    # A line pasted with its newline is the line; whitespace inside stays.
    assert clean_text("张伟\n", kind) == "张伟"


def test_verbatim_text_is_taken_exactly_as_sent() -> None:
    token = " Jose\u0301-abc "
    assert clean_text(token, TextKind.VERBATIM) == token


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "value",
    [
        "张伟",
        "小蜜蜂驿站🐝",
        "👩‍👩‍👧 一家",  # ZWJ sequences: format characters are not control characters
        "Zoë O'Brien-Ließ",
        "𠀋𡈽",  # beyond the BMP, as rare characters in Chinese names are
        "\ue000",  # private use, which some rare-name fonts still rely on
    ],
)
def test_ordinary_text_of_every_script_is_taken_unchanged(kind: TextKind, value: str) -> None:
    assert clean_text(value, kind) == value


@settings(max_examples=200, deadline=None)
@given(st.text(), st.sampled_from(KINDS))
def test_what_is_taken_is_clean_and_taking_it_again_changes_nothing(
    value: str, kind: TextKind
) -> None:
    try:
        cleaned = clean_text(value, kind)
    except InvalidText:
        return
    assert text_problem(cleaned, kind) is None
    assert clean_text(cleaned, kind) == cleaned
    if kind is not TextKind.VERBATIM:
        assert unicodedata.is_normalized("NFC", cleaned)
        assert cleaned == cleaned.strip()
