"""The households a participation's work reached (敲门入户), linked on submit: work of the
tasks feature that reads the household register."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.errors import InvalidInput
from points.rules import WorkUnit
from service.households.models import Household, ParticipationHousehold
from service.places.models import Place
from service.tasks.models import Participation, Task

# More than a door-knocking afternoon could reach; a bigger list is a mistake.
MAX_HOUSEHOLDS = 500


def link_households(
    session: Session,
    participation: Participation,
    task: Task,
    household_ids: Iterable[int] | None,
    units: int | None,
) -> int | None:
    """Link the households (each active and within the task's place) and return the
    units to record: for work counted in households and not given, how many there were."""
    if household_ids is None and task.household_id is not None:
        household_ids = [task.household_id]  # the one door the task was for
    if household_ids is None:
        return units
    wanted = list(dict.fromkeys(household_ids))
    if len(wanted) > MAX_HOUSEHOLDS:
        raise InvalidInput(
            "too many households", errors={"household_ids": [f"at most {MAX_HOUSEHOLDS}"]}
        )
    place = session.get(Place, task.place_id)
    assert place is not None  # a foreign key
    check_households_here(session, place, wanted)
    session.add_all(
        ParticipationHousehold(participation_id=participation.id, household_id=household_id)
        for household_id in wanted
    )
    if units is None and task.work_unit == WorkUnit.HOUSEHOLDS.value:
        return len(wanted)
    return units


def check_households_here(
    session: Session, place: Place, wanted: list[int], field: str = "household_ids"
) -> None:
    """Each of ``wanted`` is an active household of ``place``'s subtree."""
    found = set(
        session.scalars(
            select(Household.id)
            .join(Place, Place.id == Household.place_id)
            .where(
                Household.id.in_(wanted),
                Household.active.is_(True),
                Place.path.startswith(place.path),
            )
        )
    )
    missing = [household_id for household_id in wanted if household_id not in found]
    if missing:
        raise InvalidInput(
            "some households are not active households of this task's place",
            errors={field: {str(i): ["not a household here"] for i in missing}},
        )
