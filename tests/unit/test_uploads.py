"""Signed photo links, and the local store's refusal of names that leave its folder."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from points.uploads import LINK_LIFETIME, BadPhotoLink, check_link, derive_key, sign_link
from service.uploads.storage import LocalDiskStore

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
KEY = derive_key("secret")


def test_a_link_works_until_it_expires_and_only_for_its_photo() -> None:
    expires, signature = sign_link(KEY, 7, NOW)
    check_link(KEY, 7, expires, signature, NOW + LINK_LIFETIME)
    with pytest.raises(BadPhotoLink):
        check_link(KEY, 7, expires, signature, NOW + LINK_LIFETIME + timedelta(seconds=1))
    with pytest.raises(BadPhotoLink):
        check_link(KEY, 8, expires, signature, NOW)
    with pytest.raises(BadPhotoLink):
        check_link(KEY, 7, expires + 60, signature, NOW)
    with pytest.raises(BadPhotoLink):
        check_link(derive_key("another secret"), 7, expires, signature, NOW)


@pytest.mark.parametrize("signature", ["o𩨠H\x9fÚSÂ", "", "\udcff" * 32, "0" * 31 + "é"])
def test_a_signature_of_any_text_is_just_a_bad_link(signature: str) -> None:
    expires, _ = sign_link(KEY, 7, NOW)
    with pytest.raises(BadPhotoLink):
        check_link(KEY, 7, expires, signature, NOW)


def test_the_link_key_is_not_the_check_in_key() -> None:
    from points.checkin_code import derive_key as checkin_key

    assert derive_key("secret") != checkin_key("secret")


@pytest.mark.parametrize("name", ["", "../escape.jpg", "a/b.jpg", "..", ".hidden", "a\\b"])
def test_the_store_refuses_names_that_could_leave_its_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a storage name"):
        LocalDiskStore(tmp_path).save(name, b"x", "image/png")


def test_the_store_keeps_reads_and_deletes(tmp_path: Path) -> None:
    store = LocalDiskStore(tmp_path)
    store.save("abcdef.png", b"\x89PNG", "image/png")
    assert store.read("abcdef.png") == b"\x89PNG"
    assert (tmp_path / "ab" / "abcdef.png").is_file()
    assert not list((tmp_path / "ab").glob(".incoming-*"))
    store.delete("abcdef.png")
    store.delete("abcdef.png")  # gone already: nothing to do
    with pytest.raises(FileNotFoundError):
        store.read("abcdef.png")


def test_the_store_lists_files_saved_before_a_moment(tmp_path: Path) -> None:
    store = LocalDiskStore(tmp_path / "uploads")
    assert list(store.saved_before(NOW)) == []  # no folder yet
    for name in ("aaold.jpg", "abold.png", "aanew.jpg"):
        store.save(name, b"photo", "image/jpeg")
    two_days_ago = (NOW - timedelta(days=2)).timestamp()
    for name in ("aaold.jpg", "abold.png"):
        os.utime(tmp_path / "uploads" / name[:2] / name, (two_days_ago, two_days_ago))
    os.utime(tmp_path / "uploads" / "aa" / "aanew.jpg", (NOW.timestamp(), NOW.timestamp()))
    # A write cut short leaves a hidden temporary file: not a stored photo.
    (tmp_path / "uploads" / "aa" / ".incoming-x").write_bytes(b"half")
    os.utime(tmp_path / "uploads" / "aa" / ".incoming-x", (two_days_ago, two_days_ago))

    assert sorted(store.saved_before(NOW - timedelta(days=1))) == ["aaold.jpg", "abold.png"]
    assert sorted(store.saved_before(NOW + timedelta(seconds=1))) == [
        "aanew.jpg",
        "aaold.jpg",
        "abold.png",
    ]
