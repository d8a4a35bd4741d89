"""Rule sets as versioned data: draft, check, simulate, publish; and which are in force."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from points.access import Action
from points.currency import Currency
from points.errors import Conflict, NotFound
from points.places import ancestor_ids
from points.rules import (
    EarnedSoFar,
    Evaluation,
    Facts,
    RuleSet,
    dump_rule_set,
    evaluate,
    parse_rule_set,
)
from service.access import Actor, Target, require
from service.audit.log import record
from service.db import utcnow
from service.places.models import Place
from service.rules.models import RuleSetVersion
from service.unit_of_work import UnitOfWork


class AlreadyPublished(Conflict):
    code = "already_published"


def _snapshot(version: RuleSetVersion) -> dict[str, Any]:
    return {
        "status": version.status,
        "effective_from": version.effective_from.isoformat(),
        "content": version.content,
        "note": version.note,
    }


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    version: RuleSetVersion,
    before: dict[str, Any] | None,
) -> None:
    """Every change to rules people's points depend on: who, what, before and after."""
    record(
        session,
        actor_id=actor.user_id,
        action=f"rule_set.{action}",
        object_type="rule_set",
        object_id=version.id,
        before=before,
        after=_snapshot(version),
    )


def _place(session: Session, place_id: int) -> Place:
    place = session.get(Place, place_id)
    if place is None:
        raise NotFound("place not found", errors={"org_id": ["no such place"]})
    return place


def get_version(session: Session, actor: Actor, rule_set_id: int) -> RuleSetVersion:
    version = session.get(RuleSetVersion, rule_set_id)
    if version is None:
        raise NotFound("rule set not found")
    require(
        actor,
        Action.VIEW_RULES,
        Target(place_path=_place(session, version.place_id).path),
        what="rule set",
    )
    return version


def list_versions(session: Session, actor: Actor, place_id: int) -> list[RuleSetVersion]:
    place = _place(session, place_id)
    require(actor, Action.VIEW_RULES, Target(place_path=place.path), what="place")
    return list(
        session.scalars(
            select(RuleSetVersion)
            .where(RuleSetVersion.place_id == place.id)
            .order_by(RuleSetVersion.version.desc())
        )
    )


def draft(
    uow: UnitOfWork,
    actor: Actor,
    place_id: int,
    content: dict[str, Any],
    effective_from: date,
    note: str = "",
) -> RuleSetVersion:
    """A new version at a place, as a draft. Its content must already be a valid rule set,
    so every draft can be simulated."""
    rules = parse_rule_set(content)
    with uow:
        session = uow.session
        place = _place(session, place_id)
        require(actor, Action.MANAGE_RULES, Target(place_path=place.path), what="place")
        latest = session.scalar(
            select(func.max(RuleSetVersion.version)).where(RuleSetVersion.place_id == place.id)
        )
        version = RuleSetVersion(
            place_id=place.id,
            version=(latest or 0) + 1,
            status="draft",
            effective_from=effective_from,
            content=_canonical(rules),
            note=note,
            created_by_id=actor.user_id,
        )
        session.add(version)
        session.flush()
        _audit(session, actor, "draft", version, None)
        uow.commit()
        return version


def _canonical(rules: RuleSet) -> dict[str, Any]:
    # Stored as the engine writes it back, so what staff see is exactly what applies.
    return dump_rule_set(rules)


def _draft_to_change(session: Session, actor: Actor, rule_set_id: int) -> RuleSetVersion:
    version = get_version(session, actor, rule_set_id)
    place = _place(session, version.place_id)
    require(actor, Action.MANAGE_RULES, Target(place_path=place.path), what="rule set")
    if version.status != "draft":
        raise AlreadyPublished("a published rule set never changes: draft a new version")
    return version


def change_draft(
    uow: UnitOfWork,
    actor: Actor,
    rule_set_id: int,
    *,
    content: dict[str, Any] | None = None,
    effective_from: date | None = None,
    note: str | None = None,
) -> RuleSetVersion:
    rules = parse_rule_set(content) if content is not None else None
    with uow:
        session = uow.session
        version = _draft_to_change(session, actor, rule_set_id)
        before = _snapshot(version)
        if rules is not None:
            version.content = _canonical(rules)
        if effective_from is not None:
            version.effective_from = effective_from
        if note is not None:
            version.note = note
        _audit(session, actor, "change", version, before)
        uow.commit()
        return version


def publish(uow: UnitOfWork, actor: Actor, rule_set_id: int) -> RuleSetVersion:
    with uow:
        session = uow.session
        version = _draft_to_change(session, actor, rule_set_id)
        before = _snapshot(version)
        version.status = "published"
        version.published_by_id = actor.user_id
        version.published_at = utcnow()
        _audit(session, actor, "publish", version, before)
        uow.commit()
        return version


def simulate(
    session: Session,
    actor: Actor,
    rule_set_id: int,
    facts: Facts,
    earned: dict[Currency, EarnedSoFar],
) -> Evaluation:
    """What the rules would give for hypothetical work; nothing is written."""
    version = get_version(session, actor, rule_set_id)
    return evaluate(parse_rule_set(version.content), facts, earned)


def in_force(session: Session, place_id: int, on: date) -> RuleSetVersion | None:
    """The published rules for work at a place on a day: the nearest place up the tree
    that has any in effect wins (a community overrides its street), and there the
    latest to take effect."""
    place = session.get(Place, place_id)
    if place is None:
        return None
    candidates = session.scalars(
        select(RuleSetVersion).where(
            RuleSetVersion.place_id.in_(ancestor_ids(place.path)),
            RuleSetVersion.status == "published",
            RuleSetVersion.effective_from <= on,
        )
    ).all()
    depth = {pid: index for index, pid in enumerate(ancestor_ids(place.path))}
    return max(
        candidates,
        key=lambda v: (depth[v.place_id], v.effective_from, v.version),
        default=None,
    )
