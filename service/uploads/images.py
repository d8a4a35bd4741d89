"""Checking that an upload is a photo, by its content, and cleaning it.

Pillow decides what the bytes are (never the file name or the client's content type).
The photo is then written anew: that drops EXIF, whose GPS tags would keep where the
person was (we keep a check-in's distance and result, never a location), and
anything else riding along in the file.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from points.uploads import ACCEPTED_FORMATS, MAX_PIXELS, NotAnImage

_SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "JPEG": {"quality": 88, "optimize": True},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 85},
}


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def clean_photo(data: bytes) -> CleanPhoto:
    with warnings.catch_warnings():
        # Pillow only warns below twice its own limit; a bomb is refused, not logged.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return _clean(data)


def _clean(data: bytes) -> CleanPhoto:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format or ""
            if kind not in ACCEPTED_FORMATS:
                raise NotAnImage(
                    "send a JPEG, PNG or WebP photo",
                    errors={"file": [f"{kind or 'this file'} is not an accepted photo format"]},
                )
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise NotAnImage(
                    "this photo has too many pixels",
                    errors={"file": [f"{width}×{height} is over {MAX_PIXELS:,} pixels"]},
                )
            probe.verify()  # reads the whole file: a truncated photo fails here
        with Image.open(io.BytesIO(data)) as original:
            upright = ImageOps.exif_transpose(original)  # the EXIF that turned it goes too
            if kind == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
                upright = upright.convert("RGB")
            out = io.BytesIO()
            upright.save(out, format=kind, **_SAVE_OPTIONS[kind])
            width, height = upright.size
    except NotAnImage:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise NotAnImage(
            "this file is not a photo we can read", errors={"file": ["not a readable image"]}
        ) from None
    return CleanPhoto(
        data=out.getvalue(),
        content_type=ACCEPTED_FORMATS[kind],
        extension=kind.lower().replace("jpeg", "jpg"),
        width=width,
        height=height,
    )
