"""Moving a stored row along its life cycle: the conditional UPDATE that lets only one
of two concurrent steps move it.

The table in points/ says where a step leads; this checks, in the UPDATE's WHERE, that
the row is still where the step began. A step that finds it moved meanwhile changes
nothing and is told so, and raises its own feature's "changed a moment ago" error.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import cast

from sqlalchemy import Table, Update, bindparam, update
from sqlalchemy.orm import Session

from service.db import Base, rows_changed


@cache
def _move(model: type[Base]) -> Update:
    # Built once per table, on the table: each call's values become the SET clause from
    # the parameter names, so no statement is built (or ORM-synchronised) per step. The
    # WHERE's names can't clash with a column's.
    table = cast(Table, model.__table__)
    return update(table).where(
        table.c.id == bindparam("moving_id"), table.c.status == bindparam("moving_from")
    )


def move_status(
    session: Session,
    model: type[Base],
    row_id: int,
    current: StrEnum,
    target: StrEnum,
    **values: object,
) -> bool:
    """Move row ``row_id`` of ``model`` from ``current`` to ``target``, setting ``values``
    with it, only if it is still ``current``; whether it moved.

    A Core statement: loaded objects are not updated, and nothing pending in the
    session is flushed first."""
    moved = rows_changed(
        session.execute(
            _move(model),
            {"moving_id": row_id, "moving_from": current.value, "status": target.value, **values},
        )
    )
    return moved == 1
