"""Where photo files live. The service speaks to an ``UploadStore``; local disk is the
one we ship, and object storage (OSS, COS, S3) can take its place behind the same
four methods."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol


class UploadStore(Protocol):
    def save(self, name: str, data: bytes, content_type: str) -> None: ...

    def read(self, name: str) -> bytes: ...

    def delete(self, name: str) -> None: ...

    def saved_before(self, moment: datetime) -> Iterator[str]:
        """The names of the files saved before ``moment``, in no particular order."""
        ...


class LocalDiskStore:
    """Files under one folder, spread over subfolders by the name's first two
    characters so no folder grows to millions of entries. In a multi-instance
    deployment the folder is a shared volume."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        # Names are ours (random, url-safe); refuse anything that could leave the root.
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"not a storage name: {name!r}")
        return self.root / name[:2] / name

    def save(self, name: str, data: bytes, content_type: str) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written to a temporary file and renamed, so a reader never sees half a photo.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def read(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def saved_before(self, moment: datetime) -> Iterator[str]:
        if not self.root.is_dir():
            return
        cutoff = moment.timestamp()
        for folder in self.root.iterdir():
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            for entry in os.scandir(folder):
                # Half-written files (".incoming-…") are the writer's to clean up.
                if (
                    entry.is_file()
                    and not entry.name.startswith(".")
                    and entry.stat().st_mtime < cutoff
                ):
                    yield entry.name
