"""Rule sets as versioned data: draft, check, simulate, publish; and which are in force."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, select
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, require
from points.currency import Currency
from points.errors import Conflict, NotFound
from points.rules import (
    EarnedSoFar,
    Evaluation,
    Facts,
    RuleSet,
    dump_rule_set,
    evaluate,
    parse_rule_set,
)
from service.audit.log import record
from service.db import utcnow
from service.places.models import Place
from service.places.tree import named_place
from service.rules.models import RuleSetVersion, rule_set_label
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
        place_id=version.place_id,
    )


def get_version(session: Session, actor: Actor, rule_set_id: int) -> RuleSetVersion:
    version = session.get(RuleSetVersion, rule_set_id)
    if version is None:
        raise NotFound("rule set not found")
    require(
        actor,
        Action.VIEW_RULES,
        Target(place_path=named_place(session, version.place_id).path),
        what="rule set",
    )
    return version


def list_versions(session: Session, actor: Actor, place_id: int) -> list[RuleSetVersion]:
    place = named_place(session, place_id)
    require(actor, Action.VIEW_RULES, Target(place_path=place.path), what="place")
    return list(
        session.scalars(
            select(RuleSetVersion)
            .where(RuleSetVersion.place_id == place.id)
            .order_by(RuleSetVersion.version.desc())
        )
    )


def draft_rule_set(
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
        place = named_place(session, place_id)
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
    place = named_place(session, version.place_id)
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


def publish_rule_set(uow: UnitOfWork, actor: Actor, rule_set_id: int) -> RuleSetVersion:
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


def simulate_rule_set(
    session: Session,
    actor: Actor,
    rule_set_id: int,
    facts: Facts,
    earned: dict[Currency, EarnedSoFar],
) -> Evaluation:
    """What the rules would give for hypothetical work; nothing is written."""
    version = get_version(session, actor, rule_set_id)
    return evaluate(parse_rule_set(version.content), facts, earned)


@dataclass(frozen=True)
class InForce:
    place_id: int
    label: str  # how transfers name the rules that priced them
    rules: RuleSet


# Published rule sets never change, and parsing one costs more than the rest of an
# approval's CPU. Keyed by the content's text too, so a row id reused with other
# content (a rebuilt database) is never served stale.
_PARSED: dict[tuple[int, str], RuleSet] = {}
_PARSED_KEEP = 64

_RULE_SETS, _PLACES = RuleSetVersion.__table__, Place.__table__
_WORK_PLACE = _PLACES.alias("work_place")
# Built once, as Core: every approval runs it. A place's path is a prefix of its
# descendants' paths, and the longer of two such paths is the nearer place. The content
# comes as text: it keys the cache, and is parsed only when new.
_IN_FORCE = (
    select(
        _RULE_SETS.c.id,
        _RULE_SETS.c.place_id,
        _RULE_SETS.c.version,
        cast(_RULE_SETS.c.content, Text),
    )
    .join(_PLACES, _PLACES.c.id == _RULE_SETS.c.place_id)
    .join(_WORK_PLACE, _WORK_PLACE.c.path.startswith(_PLACES.c.path))
    .where(
        _WORK_PLACE.c.id == bindparam("place_id"),
        _RULE_SETS.c.status == "published",
        _RULE_SETS.c.effective_from <= bindparam("on"),
    )
    .order_by(
        func.length(_PLACES.c.path).desc(),
        _RULE_SETS.c.effective_from.desc(),
        _RULE_SETS.c.version.desc(),
    )
    .limit(1)
)


def rules_in_force(session: Session, place_id: int, on: date) -> InForce | None:
    """The published rules for work at a place on a day: the nearest place up the tree
    that has any in effect wins (a community overrides its street), and there the
    latest to take effect. One query."""
    row = session.execute(_IN_FORCE, {"place_id": place_id, "on": on}).first()
    if row is None:
        return None
    version_id, rules_place_id, version, content = row
    key = (version_id, content)
    rules = _PARSED.get(key)
    if rules is None:
        rules = parse_rule_set(json.loads(content))
        if len(_PARSED) >= _PARSED_KEEP:
            _PARSED.clear()
        _PARSED[key] = rules
    return InForce(rules_place_id, rule_set_label(rules_place_id, version), rules)
