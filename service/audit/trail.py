"""Reading the audit trail: an admin reads what happened in the places they administer,
newest first."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, require
from service.audit.log import AuditKind
from service.audit.models import AuditEntry
from service.places.models import Place
from service.places.tree import named_place


def audit_trail(
    session: Session,
    actor: Actor,
    place_id: int,
    *,
    kind: AuditKind | None,
    limit: int,
    before_id: int | None,
) -> list[AuditEntry]:
    """Entries placed in the subtree of ``place_id`` (of one ``kind``, if given), newest
    first, below ``before_id`` if given. At a root of the place tree, also the entries
    that belong to no place (a department's grants), as a root's grants cover what is
    organisation-wide. 404 outside the actor's scope, 403 inside it for anyone but an
    admin."""
    place = named_place(session, place_id, field="scope")
    require(actor, Action.VIEW_AUDIT, Target(place_path=place.path), what="place")
    placed: ColumnElement[bool] = Place.path.startswith(place.path)
    if place.parent_id is None:
        placed = or_(placed, AuditEntry.place_id.is_(None))
    query = (
        select(AuditEntry)
        .outerjoin(Place, Place.id == AuditEntry.place_id)
        .where(placed)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    if kind is not None:
        query = query.where(AuditEntry.action.startswith(f"{kind.value}.", autoescape=True))
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
