"""Shared steps for the household, visit and demand tests."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask.testing import FlaskClient

from api import extensions
from points.rules import starter_rule_set
from service.ledger.verify import verify
from service.rules.models import RuleSetVersion
from tests.api.world import World


def publish_starter_rules(app: Flask, world: World) -> None:
    """The starter rules, published at the street."""
    with app.app_context():
        session = extensions.session()
        session.add(
            RuleSetVersion(
                place_id=world.ids["street"],
                version=1,
                status="published",
                effective_from=date(2026, 1, 1),
                content=starter_rule_set(),
            )
        )
        session.commit()


def balances(client: FlaskClient, world: World, role: str) -> dict[str, int]:
    items = world.call(client, role, "GET", "/me/accounts").get_json()["items"]
    return {item["currency"]: item["balance"] for item in items}


def ledger_is_clean(app: Flask) -> bool:
    with app.app_context():
        return verify(extensions.session()).clean
