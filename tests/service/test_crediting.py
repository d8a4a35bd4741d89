"""Crediting work by the rules in force."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from points.access import Role
from points.places import PlaceLevel
from points.rules import EarningEvent, Facts, TaskType, WorkUnit, starter_rule_set
from service.ledger.models import Transfer
from service.ledger.reversals import reverse_source
from service.ledger.verify import verify
from service.people.models import User
from service.places.models import Place
from service.places.tree import add_place
from service.rules.crediting import Work, credit_work
from service.rules.models import RuleSetVersion
from service.unit_of_work import UnitOfWork

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 14:00 in Beijing


def door_knock(households: int) -> Facts:
    return Facts(
        event=EarningEvent.TASK_COMPLETED,
        role=Role.MEMBER,
        task_type=TaskType.DOOR_KNOCK,
        units=households,
        work_unit=WorkUnit.HOUSEHOLDS,
    )


def publish(
    uow: UnitOfWork,
    place: Place,
    content: dict[str, Any],
    *,
    version: int = 1,
    effective: date = date(2026, 1, 1),
    status: str = "published",
) -> RuleSetVersion:
    rules = RuleSetVersion(
        place_id=place.id, version=version, status=status, effective_from=effective, content=content
    )
    uow.session.add(rules)
    uow.session.flush()
    return rules


@pytest.fixture
def world(uow: UnitOfWork) -> dict[str, Any]:
    session = uow.session
    street = add_place(session, None, "街道", PlaceLevel.STREET)
    community = add_place(session, street, "社区", PlaceLevel.COMMUNITY)
    grid = add_place(session, community, "网格", PlaceLevel.GRID)
    member = User(name="李建国", residence_place_id=grid.id)
    session.add(member)
    session.flush()
    rules = publish(uow, street, starter_rule_set())
    uow.commit()
    return {
        "street": street,
        "community": community,
        "grid": grid,
        "member": member,
        "rules": rules,
    }


def work(world: dict[str, Any], source: str, facts: Facts) -> Work:
    return Work(
        source=source,
        user_id=world["member"].id,
        place_id=world["grid"].id,
        done_at=NOW,
        facts=facts,
        actor_id=None,
    )


def test_work_earns_both_currencies_with_the_breakdown(
    uow: UnitOfWork, world: dict[str, Any]
) -> None:
    credited = credit_work(uow.session, work(world, "participation:1", door_knock(3)), NOW)
    uow.commit()
    by_currency = {t.currency: t for t in credited.transfers}
    assert by_currency["jifen"].amount == 5 + 2 * 3
    assert by_currency["xingfubi"].amount == 2 + 1 * 3
    assert by_currency["jifen"].explanation.startswith("敲门入户 rule: 3 户 × 2 + base 5 = 11 积分")
    assert by_currency["jifen"].rule_set_version == f"place:{world['street'].id}/v1"
    assert by_currency["jifen"].source == "participation:1"
    assert verify(uow.session).clean


def test_crediting_the_same_work_twice_credits_once(uow: UnitOfWork, world: dict[str, Any]) -> None:
    first = credit_work(uow.session, work(world, "participation:2", door_knock(2)), NOW)
    uow.commit()
    again = credit_work(uow.session, work(world, "participation:2", door_knock(2)), NOW)
    uow.commit()
    assert [t.id for t in again.transfers] == [t.id for t in first.transfers]
    assert uow.session.scalar(select(func.count()).select_from(Transfer)) == 2


def test_caps_count_what_was_earned_today(uow: UnitOfWork, world: dict[str, Any]) -> None:
    # 幸福币 is capped at 50 a day: 8 door-knocks of 10 households give 12 each.
    amounts = []
    for n in range(5):
        credited = credit_work(uow.session, work(world, f"participation:c{n}", door_knock(10)), NOW)
        uow.commit()
        amounts.append(next(t.amount for t in credited.transfers if t.currency == "xingfubi"))
    assert amounts == [12, 12, 12, 12, 2]
    last = next(t for t in credited.transfers if t.currency == "xingfubi")
    assert "daily cap 50, 2 left" in last.explanation
    tomorrow = NOW + timedelta(days=1)
    next_day = credit_work(uow.session, work(world, "participation:c9", door_knock(10)), tomorrow)
    assert next(t.amount for t in next_day.transfers if t.currency == "xingfubi") == 12


def test_a_reversed_earning_frees_room_under_the_cap(
    uow: UnitOfWork, world: dict[str, Any]
) -> None:
    for n in range(4):
        credit_work(uow.session, work(world, f"participation:r{n}", door_knock(10)), NOW)
        uow.commit()
    reverse_source(uow.session, "participation:r0", actor_id=None, reason="not done")
    uow.commit()
    credited = credit_work(uow.session, work(world, "participation:r9", door_knock(10)), NOW)
    assert next(t.amount for t in credited.transfers if t.currency == "xingfubi") == 12


def test_the_nearest_place_with_rules_in_force_wins(uow: UnitOfWork, world: dict[str, Any]) -> None:
    generous = {"rules": [{"name": "社区规则", "awards": {"jifen": {"base": 100}}}]}
    publish(uow, world["community"], generous, effective=date(2027, 1, 1))  # not yet
    publish(uow, world["community"], generous, version=2, status="draft")  # never
    uow.commit()
    street_rules = credit_work(uow.session, work(world, "participation:n1", door_knock(1)), NOW)
    assert street_rules.rule_set_version == f"place:{world['street'].id}/v1"
    publish(uow, world["community"], generous, version=3)
    uow.commit()
    community_rules = credit_work(uow.session, work(world, "participation:n2", door_knock(1)), NOW)
    assert community_rules.rule_set_version == f"place:{world['community'].id}/v3"
    assert [(t.currency, t.amount) for t in community_rules.transfers] == [("jifen", 100)]


def test_without_rules_nothing_is_credited(uow: UnitOfWork) -> None:
    street = add_place(uow.session, None, "无规则街道", PlaceLevel.STREET)
    member = User(name="王芳", residence_place_id=street.id)
    uow.session.add(member)
    uow.session.flush()
    credited = credit_work(
        uow.session,
        Work(
            source="participation:x",
            user_id=member.id,
            place_id=street.id,
            done_at=NOW,
            facts=door_knock(2),
            actor_id=None,
        ),
        NOW,
    )
    assert credited.transfers == []
    assert credited.rule_set_version is None


def test_hours_are_priced_as_given(uow: UnitOfWork, world: dict[str, Any]) -> None:
    facts = Facts(
        event=EarningEvent.TASK_COMPLETED,
        role=Role.VOLUNTEER,
        task_type=TaskType.PATROL,
        hours=Decimal("1.5"),
        work_unit=WorkUnit.HOURS,
    )
    credited = credit_work(uow.session, work(world, "participation:h", facts), NOW)
    assert {t.currency: t.amount for t in credited.transfers} == {
        "jifen": 5 + 8,  # 5 + 1.5 × 5 = 12.5, rounded half up
        "xingfubi": 3 + 5,  # 3 + 1.5 × 3 = 7.5 → 8
    }
