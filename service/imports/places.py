"""Importing the place tree: one row per node, named by its path from the root
("连心街道/幸福社区/幸福第一网格") with its level. Also the in-memory name index the
roster import resolves residences with."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Target
from points.errors import InvalidInput
from points.places import PlaceLevel
from service.imports.scope import CONSOLE, ImportScope
from service.imports.spreadsheet import ImportReport, OnRow, Outcome, Row, chunked, clean_cells
from service.places.models import Place
from service.places.tree import add_place
from service.unit_of_work import UnitOfWork

# What an importer needs the right to do somewhere (the console always may).
RIGHT = (Action.MANAGE_PLACES, "places")
REQUIRED = ("path", "level")
BATCH_SIZE = 500
NAME_LENGTH = 100  # Place.name
LEVEL_ALIASES = {
    "市": PlaceLevel.DISTRICT,
    "区": PlaceLevel.DISTRICT,
    "县": PlaceLevel.DISTRICT,
    "街道": PlaceLevel.STREET,
    "镇": PlaceLevel.STREET,
    "乡": PlaceLevel.STREET,
    "社区": PlaceLevel.COMMUNITY,
    "村": PlaceLevel.COMMUNITY,
    "行政村": PlaceLevel.COMMUNITY,
    "小区": PlaceLevel.ESTATE,
    "自然村": PlaceLevel.NATURAL_VILLAGE,
    "村民小组": PlaceLevel.NATURAL_VILLAGE,
    "网格": PlaceLevel.GRID,
    "微网格": PlaceLevel.GRID,
    "楼栋": PlaceLevel.BUILDING,
    "楼": PlaceLevel.BUILDING,
    "单元": PlaceLevel.UNIT,
}

Names = tuple[str, ...]


def split_path(text: str, column: str) -> Names:
    if not text:
        raise InvalidInput(f"{column} is missing", errors={column: ["required"]})
    names = tuple(part.strip() for part in text.replace("／", "/").strip().strip("/").split("/"))
    if not all(names):
        raise InvalidInput(f"{text!r} is not a path of names", errors={column: ["empty name"]})
    return names


def parse_level(text: str) -> PlaceLevel:
    value = text.strip().lower()
    if value in LEVEL_ALIASES:
        return LEVEL_ALIASES[value]
    try:
        return PlaceLevel(value)
    except ValueError:
        known = ", ".join([*PlaceLevel, *LEVEL_ALIASES])
        raise InvalidInput(f"unknown level {text!r}", errors={"level": [known]}) from None


@dataclass
class PlaceIndex:
    """Every place by its path of names, loaded once, so rows resolve without queries."""

    by_path: dict[Names, int] = field(default_factory=dict)
    paths: dict[int, Names] = field(default_factory=dict)
    levels: dict[int, PlaceLevel] = field(default_factory=dict)
    by_suffix: defaultdict[Names, list[int]] = field(default_factory=lambda: defaultdict(list))
    tree_paths: dict[int, str] = field(default_factory=dict)  # Place.path, for scopes

    @classmethod
    def load(cls, session: Session) -> PlaceIndex:
        rows = session.execute(
            select(Place.id, Place.parent_id, Place.name, Place.level, Place.path)
        ).all()
        parents = {row.id: (row.parent_id, row.name) for row in rows}
        index = cls()

        def names_of(place_id: int) -> Names:
            if place_id not in index.paths:
                parent_id, name = parents[place_id]
                above = names_of(parent_id) if parent_id is not None else ()
                index.paths[place_id] = (*above, name)
            return index.paths[place_id]

        for row in rows:
            index.add(row.id, names_of(row.id), PlaceLevel(row.level), row.path)
        return index

    def add(self, place_id: int, names: Names, level: PlaceLevel, tree_path: str) -> None:
        self.by_path[names] = place_id
        self.paths[place_id] = names
        self.levels[place_id] = level
        self.tree_paths[place_id] = tree_path
        for start in range(len(names)):
            self.by_suffix[names[start:]].append(place_id)

    def find(self, names: Names, column: str) -> int:
        """The place at this full path, or else the one place whose path ends so."""
        if names in self.by_path:
            return self.by_path[names]
        matches = self.by_suffix.get(names, [])
        shown = "/".join(names)
        if not matches:
            raise InvalidInput(f"no place named {shown}", errors={column: ["unknown place"]})
        if len(matches) > 1:
            some = "; ".join("/".join(self.paths[m]) for m in sorted(matches)[:3])
            raise InvalidInput(
                f"{shown} is ambiguous ({len(matches)} places: {some}); give more of its path",
                errors={column: ["ambiguous place"]},
            )
        return matches[0]


def import_places(
    uow: UnitOfWork,
    rows: Iterable[Row],
    on_row: OnRow | None = None,
    batch_size: int = BATCH_SIZE,
    scope: ImportScope = CONSOLE,
) -> ImportReport:
    """Create the places the rows name, in file order; a parent must come first. For an
    actor, only places in the subtrees they manage (a new root only at the console)."""
    scope.require_right(*RIGHT)
    report = ImportReport()
    done = 0
    with uow:
        index = PlaceIndex.load(uow.session)
        for batch in chunked(rows, batch_size):
            for number, record in batch:
                try:
                    report.count(_import_row(uow.session, index, record, scope), number)
                except InvalidInput as error:
                    report.reject(number, error)
                done += 1
                if on_row is not None:
                    on_row(done)
            uow.commit()
    return report


def _import_row(
    session: Session, index: PlaceIndex, record: dict[str, str], scope: ImportScope
) -> Outcome:
    record = clean_cells(record)
    names = split_path(record["path"], "path")
    level = parse_level(record["level"])
    shown = "/".join(names)
    existing = index.by_path.get(names)
    if existing is not None:
        scope.check(_manages(scope, index, existing), shown, "path")
        if index.levels[existing] is level:
            return Outcome.UNCHANGED
        raise InvalidInput(
            f"{shown} exists as a {index.levels[existing].value}, not a {level.value}",
            errors={"level": [f"must be {index.levels[existing].value}"]},
        )
    if len(names[-1]) > NAME_LENGTH:
        raise InvalidInput(f"name longer than {NAME_LENGTH} characters", errors={"path": []})
    parent = None
    if len(names) > 1:
        parent_id = index.by_path.get(names[:-1])
        if parent_id is None:
            raise InvalidInput(
                f"parent {'/'.join(names[:-1])} not found (list it on an earlier row)",
                errors={"path": ["unknown parent"]},
            )
        scope.check(_manages(scope, index, parent_id), shown, "path")
        parent = session.get(Place, parent_id)
    else:
        scope.check(scope.actor is None, shown, "path")  # a new root: at the console
    try:
        with session.begin_nested():
            place = add_place(session, parent, names[-1], level)
    except IntegrityError:
        # Someone added the same place since the index was loaded.
        raise InvalidInput(f"{shown} already exists", errors={"path": ["exists"]}) from None
    index.add(place.id, names, level, place.path)
    return Outcome.CREATED


def _manages(scope: ImportScope, index: PlaceIndex, place_id: int) -> bool:
    return scope.allows(Action.MANAGE_PLACES, Target(place_path=index.tree_paths[place_id]))
