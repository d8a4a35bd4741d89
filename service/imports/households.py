"""Importing the household register (户) from a community's sheet: one row per
household, with its place (a grid, by path or by a name unique in the tree), its door
label, and optionally the head's name and its needs. Importing again updates the
head and needs of doors already there."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Target
from points.errors import InvalidInput
from service.households.models import Household
from service.imports.places import PlaceIndex, split_path
from service.imports.scope import CONSOLE, ImportScope
from service.imports.spreadsheet import ImportReport, OnRow, Outcome, Row, chunked, clean_cells
from service.unit_of_work import UnitOfWork

# What an importer needs the right to do somewhere (the console always may).
RIGHT = (Action.MANAGE_HOUSEHOLDS, "households")
REQUIRED = ("residence", "label")
BATCH_SIZE = 500
TEXT_LENGTH = 64  # Household.label and head_name


def import_households(
    uow: UnitOfWork,
    rows: Iterable[Row],
    on_row: OnRow | None = None,
    batch_size: int = BATCH_SIZE,
    scope: ImportScope = CONSOLE,
) -> ImportReport:
    """For an actor, only households at places where they keep the register."""
    scope.require_right(*RIGHT)
    report = ImportReport()
    done = 0
    with uow:
        places = PlaceIndex.load(uow.session)
        for batch in chunked(rows, batch_size):
            for number, record in batch:
                try:
                    report.count(_import_row(uow.session, places, record, scope), number)
                except InvalidInput as error:
                    report.reject(number, error)
                done += 1
                if on_row is not None:
                    on_row(done)
            uow.commit()
    return report


def _text(record: dict[str, str], key: str) -> str:
    value = record.get(key, "").strip()
    if len(value) > TEXT_LENGTH:
        raise InvalidInput(
            f"{key} longer than {TEXT_LENGTH} characters", errors={key: ["too long"]}
        )
    return value


def _import_row(
    session: Session, places: PlaceIndex, record: dict[str, str], scope: ImportScope
) -> Outcome:
    record = clean_cells(record)
    place_id = places.find(split_path(record["residence"], "residence"), "residence")
    keeps = Target(place_path=places.tree_paths[place_id])
    scope.check(scope.allows(Action.MANAGE_HOUSEHOLDS, keeps), record["residence"], "residence")
    label = _text(record, "label")
    if not label:
        raise InvalidInput("label is missing", errors={"label": ["required"]})
    head_name = _text(record, "head_name") or None
    needs = record.get("needs", "").strip()
    household = session.scalars(
        select(Household).where(Household.place_id == place_id, Household.label == label)
    ).one_or_none()
    if household is not None:
        wanted = {
            "head_name": head_name if "head_name" in record else household.head_name,
            "needs": needs if "needs" in record else household.needs,
        }
        if all(getattr(household, key) == value for key, value in wanted.items()):
            return Outcome.UNCHANGED
        for key, value in wanted.items():
            setattr(household, key, value)
        return Outcome.UPDATED
    try:
        with session.begin_nested():
            session.add(Household(place_id=place_id, label=label, head_name=head_name, needs=needs))
    except IntegrityError:
        # Someone added the same door since this row was read.
        raise InvalidInput(f"{label} already exists", errors={"label": ["exists"]}) from None
    return Outcome.CREATED
