"""The imports as uploads (POST /imports/{kind}): the CLI's places, roster and
households imports, run for the uploader, on a file recognised by its content.

The file is refused whole (nothing lands) when the uploader has no right to import
this kind anywhere (403), when it is over the size or row limit (413), and when it is
no CSV or XLSX, or lacks the kind's columns (422). Otherwise each row lands or is
reported with its row number, column and reason, as at the console; rows are written
in batches of the importer's size, each its own transaction, and a run can be
repeated: rows are matched by path, phone or door, so the same file changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from points.access import Actor
from points.errors import NotFound, TooLarge
from service.imports import households, places, roster
from service.imports.scope import ImportScope
from service.imports.spreadsheet import ImportReport, read_upload
from service.people.phones import PhoneVault
from service.unit_of_work import UnitOfWork


class ImportKind(StrEnum):
    PLACES = "places"
    ROSTER = "roster"
    HOUSEHOLDS = "households"


REQUIRED = {
    ImportKind.PLACES: places.REQUIRED,
    ImportKind.ROSTER: roster.REQUIRED,
    ImportKind.HOUSEHOLDS: households.REQUIRED,
}


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_rows: int


def import_kind(name: str) -> ImportKind:
    try:
        return ImportKind(name)
    except ValueError:
        raise NotFound(f"no import of {name!r}: places, roster or households") from None


def import_upload(
    uow: UnitOfWork,
    actor: Actor,
    kind_name: str,
    data: bytes,
    vault: PhoneVault,
    limits: UploadLimits,
) -> ImportReport:
    kind = import_kind(kind_name)
    scope = ImportScope(actor)
    # The right first: someone who may not import this at all learns nothing of the file.
    scope.require_right(*_RIGHT[kind])
    if len(data) > limits.max_bytes:
        raise TooLarge(
            f"an import file may be at most {limits.max_bytes // 1024} KiB",
            errors={"file": [f"over the {limits.max_bytes} byte limit"]},
        )
    rows = read_upload(data, REQUIRED[kind], limits.max_rows)
    match kind:
        case ImportKind.PLACES:
            return places.import_places(uow, rows, scope=scope)
        case ImportKind.ROSTER:
            return roster.import_roster(uow, vault, rows, scope=scope)
        case ImportKind.HOUSEHOLDS:
            return households.import_households(uow, rows, scope=scope)


_RIGHT = {
    ImportKind.PLACES: places.RIGHT,
    ImportKind.ROSTER: roster.RIGHT,
    ImportKind.HOUSEHOLDS: households.RIGHT,
}
