"""Certificate numbers: readable, unguessable, and read back however they were typed;
the holder's name as verification shows it."""

from __future__ import annotations

from points.certificates import NUMBER_PATTERN, mask_name, new_number, normalise_number


def test_numbers_are_readable_and_read_back_however_typed() -> None:
    numbers = {new_number(2026) for _ in range(1000)}
    assert len(numbers) == 1000
    assert all(NUMBER_PATTERN.fullmatch(n) for n in numbers)
    assert not any(set(n[7:]) & set("ILOU") for n in numbers)
    assert normalise_number(" lx2o26-7k4m-9qxd-2hfa ") == "LX2026-7K4M-9QXD-2HFA"
    assert normalise_number("LX2026-7K4M-9QXD-2HFI") == "LX2026-7K4M-9QXD-2HF1"
    for bad in (
        "",
        "LX2026",
        "LX2026-7K4M-9QXD-2HF",
        "XX2026-7K4M-9QXD-2HFA",
        "LX2026-7K4M-9QXD-2HFU",
        "x" * 99,
    ):
        assert normalise_number(bad) is None
    assert [mask_name(n) for n in ("张三丰", "李四", "王", " ")] == ["张**", "李*", "王*", "*"]
