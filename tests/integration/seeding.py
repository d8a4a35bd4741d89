"""Pieces of a world written straight through the models, for the multi-instance tests
and the benchmarks alike: where it is on the map and the rules it earns by."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from points.rules import dump_rule_set, parse_rule_set, starter_rule_set
from service.db import utcnow
from service.places.models import Place
from service.rules.models import RuleSetVersion

# A GCJ-02 point in 东城区, as the mini-program's map would give it.
SITE = (39.9163, 116.4039)


def publish_starter_rules(session: Session, street: Place, since: date) -> RuleSetVersion:
    """The starter rules, published on the street: what a new street runs on."""
    version = RuleSetVersion(
        place_id=street.id,
        version=1,
        status="published",
        effective_from=since,
        content=dump_rule_set(parse_rule_set(starter_rule_set())),
        note="seeded: starter rules",
        published_at=utcnow(),
    )
    session.add(version)
    session.flush()
    return version
