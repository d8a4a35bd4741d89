"""服务星级与徽章 over HTTP: the level and hours equal a recount of the service records
(Hypothesis, over approved, reversed, rejected and waiting work), a reversal lowers the
level, thresholds come from configuration, badges are earned at the first and the
tenth, twelve months running across a new year on a frozen clock; and the card shows a
neighbour the chosen name, level and badges and nothing private, and to another
community nobody at all."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import extensions
from points.achievements import DEFAULT_LEVELS, parse_levels
from service.people.models import User
from tests.api.achievement_world import PHONE, Town, add_member, add_work, build, token_for
from tests.conftest import AppFactory

LADDER = parse_levels(DEFAULT_LEVELS)
STATUSES = ["approved", "reversed", "rejected", "submitted"]
KINDS = ["door_knock", "elder_delivery", "patrol", "cleanup"]


@pytest.fixture
def town(app: Flask) -> Town:
    return build(app)


def achievements(client: FlaskClient, town: Town, who: str = "member") -> dict[str, Any]:
    answer = town.call(client, who, "GET", "/me/achievements")
    assert answer.status_code == 200, answer.get_json()
    result: dict[str, Any] = answer.get_json()
    return result


def achievements_on(app: Flask, client: FlaskClient, town: Town, moment: datetime) -> Any:
    """The member's achievements read at a frozen moment, with a token of that moment."""
    with time_machine.travel(moment, tick=False), app.app_context():
        token = token_for(town.ids["member"])
        answer = client.get("/api/v1/me/achievements", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_json()
    result: dict[str, Any] = answer.get_json()
    return result


def recount(client: FlaskClient, token: str) -> Decimal:
    """The hours of every service record, read page by page as the member sees them."""
    total, cursor = Decimal(0), None
    while True:
        query = "limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(
            f"/api/v1/me/service-records?{query}", headers={"Authorization": f"Bearer {token}"}
        ).get_json()
        total += sum((Decimal(str(item["hours"])) for item in page["items"]), Decimal(0))
        cursor = page["next_cursor"]
        if cursor is None:
            return total


WORK = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=700),  # days after 2025-01-01
        st.integers(min_value=0, max_value=48_000),  # hundredths of an hour
        st.sampled_from(KINDS),
        st.sampled_from(STATUSES),
    ),
    max_size=12,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(work=WORK)
def test_level_and_hours_equal_a_recount_of_the_service_records(
    app: Flask, client: FlaskClient, town: Town, work: list[tuple[int, int, str, str]]
) -> None:
    # Each example is a new member of the same town, so examples never see each other.
    with app.app_context():
        session = extensions.session()
        member = add_member(session, "随机", town.ids["grid_A"])
        for offset, hundredths, kind, status in work:
            day = date(2025, 1, 1) + timedelta(days=offset)
            hours = str(Decimal(hundredths) / 100)
            add_work(
                session, member.id, town.ids["A"], town.ids["staff_A"], day, hours,
                kind=kind, status=status,
            )  # fmt: skip
        session.commit()
        token = token_for(member.id)
    answer = client.get("/api/v1/me/achievements", headers={"Authorization": f"Bearer {token}"})
    mine = answer.get_json()
    hours = recount(client, token)
    assert Decimal(str(mine["hours"])) == hours
    reached = [level for level in LADDER if level.threshold <= hours]
    above = [level for level in LADDER if level.threshold > hours]
    assert mine["level"] == (
        {
            "rank": reached[-1].rank,
            "name": reached[-1].name,
            "threshold": float(reached[-1].threshold),
        }
        if reached
        else None
    )
    assert (mine["next_level"] or {}).get("name") == (above[0].name if above else None)
    expected_to_go = above[0].threshold - hours if above else None
    assert mine["hours_to_go"] == (float(expected_to_go) if expected_to_go is not None else None)


def test_a_member_without_service_stands_below_the_first_level(
    client: FlaskClient, town: Town
) -> None:
    mine = achievements(client, town)
    assert mine["hours"] == 0
    assert mine["level"] is None
    assert mine["reached_on"] is None
    assert mine["next_level"] == {"rank": 1, "name": "一星", "threshold": 100.0}
    assert mine["hours_to_go"] == 100.0
    assert mine["badges"] == []
    assert [b["code"] for b in mine["badges_to_earn"]] == [
        "first_service",
        "first_door_knock",
        "elder_deliveries_10",
        "hours_100",
        "monthly_year",
    ]
    assert all(b["progress"] == 0 for b in mine["badges_to_earn"])


def test_a_reversal_lowers_the_level_and_takes_the_badge_back(
    app: Flask, client: FlaskClient, town: Town
) -> None:
    with app.app_context():
        session = extensions.session()
        ids = town.ids
        add_work(session, ids["member"], ids["A"], ids["staff_A"], date(2025, 4, 1), "60.00")
        last = add_work(
            session, ids["member"], ids["A"], ids["staff_A"], date(2025, 4, 8), "45.00",
            kind="door_knock", status="submitted",
        )  # fmt: skip
        session.commit()
    approved = town.call(client, "staff_A", "POST", f"/participations/{last}/approve")
    assert approved.status_code == 200, approved.get_json()
    mine = achievements(client, town)
    assert mine["hours"] == 105.0
    assert mine["level"]["name"] == "一星"
    assert mine["reached_on"] == "2025-04-08"
    assert {b["code"]: b["earned_on"] for b in mine["badges"]} == {
        "first_service": "2025-04-01",
        "first_door_knock": "2025-04-08",
        "hours_100": "2025-04-08",
    }
    reversed_ = town.call(
        client, "staff_A", "POST", f"/participations/{last}/reverse", {"reason": "误批"}
    )
    assert reversed_.status_code == 200, reversed_.get_json()
    mine = achievements(client, town)
    assert mine["hours"] == 60.0
    assert mine["level"] is None
    assert mine["hours_to_go"] == 40.0
    assert [b["code"] for b in mine["badges"]] == ["first_service"]
    to_earn = {b["code"]: b["progress"] for b in mine["badges_to_earn"]}
    assert to_earn["hours_100"] == 60.0
    assert to_earn["first_door_knock"] == 0


def test_thresholds_come_from_configuration(
    make_app: AppFactory, client: FlaskClient, town: Town, app: Flask
) -> None:
    with app.app_context():
        session = extensions.session()
        ids = town.ids
        add_work(session, ids["member"], ids["A"], ids["staff_A"], date(2025, 6, 1), "25.00")
        session.commit()
    own = make_app(service_levels=parse_levels("铜牌:10,银牌:20,金牌:50"))
    mine = town.call(own.test_client(), "member", "GET", "/me/achievements").get_json()
    assert mine["level"] == {"rank": 2, "name": "银牌", "threshold": 20.0}
    assert mine["next_level"] == {"rank": 3, "name": "金牌", "threshold": 50.0}
    assert mine["hours_to_go"] == 25.0
    # The same work under the default ladder is short of 一星.
    assert achievements(client, town)["level"] is None


def test_badges_are_earned_at_the_first_door_knock_and_the_tenth_delivery(
    app: Flask, client: FlaskClient, town: Town
) -> None:
    ids = town.ids

    def deliver(day: date, status: str = "approved") -> int:
        with app.app_context():
            session = extensions.session()
            made = add_work(
                session, ids["member"], ids["A"], ids["staff_A"], day, "1.50",
                kind="elder_delivery", status=status,
            )  # fmt: skip
            session.commit()
        return made

    for n in range(9):
        deliver(date(2025, 9, 1) + timedelta(days=n))
    deliver(date(2025, 8, 1), status="rejected")  # not verified: counts for nothing
    mine = achievements(client, town)
    assert "elder_deliveries_10" not in {b["code"] for b in mine["badges"]}
    assert {b["code"]: b["progress"] for b in mine["badges_to_earn"]}["elder_deliveries_10"] == 9
    deliver(date(2025, 9, 20))
    deliver(date(2025, 9, 25))
    earned = {b["code"]: b["earned_on"] for b in achievements(client, town)["badges"]}
    assert earned["elder_deliveries_10"] == "2025-09-20"
    assert "first_door_knock" not in earned
    with app.app_context():
        session = extensions.session()
        add_work(
            session, ids["member"], ids["B"], ids["staff_B"], date(2025, 10, 3), "2.00",
            kind="door_knock",
        )  # fmt: skip
        session.commit()
    earned = {b["code"]: b["earned_on"] for b in achievements(client, town)["badges"]}
    # Work done in another community is the member's service all the same.
    assert earned["first_door_knock"] == "2025-10-03"


def test_a_year_of_monthly_service_across_a_new_year_on_a_frozen_clock(
    app: Flask, client: FlaskClient, town: Town
) -> None:
    ids = town.ids
    with app.app_context():
        session = extensions.session()
        # August 2025 to June 2026: eleven months, each with a service.
        for n in range(11):
            month = 7 + n
            day = date(2025 + month // 12, month % 12 + 1, 10)
            add_work(session, ids["member"], ids["A"], ids["staff_A"], day, "2.00")
        session.commit()
    # 1 July 2026 in Beijing: July's service may still come, so the run is alive.
    mine = achievements_on(app, client, town, datetime(2026, 6, 30, 17, tzinfo=UTC))
    progress = {b["code"]: b["progress"] for b in mine["badges_to_earn"]}
    assert progress["monthly_year"] == 11
    # 1 August 2026: July passed with nothing, the run is over.
    mine = achievements_on(app, client, town, datetime(2026, 7, 31, 17, tzinfo=UTC))
    assert {b["code"]: b["progress"] for b in mine["badges_to_earn"]}["monthly_year"] == 0
    with app.app_context():
        session = extensions.session()
        # July's service, on the month's last day: the run is whole again.
        add_work(session, ids["member"], ids["A"], ids["staff_A"], date(2026, 7, 31), "2.00")
        session.commit()
    mine = achievements_on(app, client, town, datetime(2026, 8, 5, tzinfo=UTC))
    assert {b["code"]: b["earned_on"] for b in mine["badges"]}["monthly_year"] == "2026-07-31"


def test_the_card_shows_a_neighbour_the_name_level_and_badges_and_nothing_private(
    app: Flask, client: FlaskClient, town: Town
) -> None:
    ids = town.ids
    with app.app_context():
        session = extensions.session()
        add_work(
            session, ids["member"], ids["A"], ids["staff_A"], date(2025, 5, 1), "120.00",
            kind="door_knock",
        )  # fmt: skip
        session.commit()
    answer = town.call(client, "neighbour", "GET", f"/users/{ids['member']}/card")
    assert answer.status_code == 200, answer.get_json()
    card = answer.get_json()
    assert card == {
        "user_id": ids["member"],
        "display_name": "张三丰",
        "avatar_url": "https://example.com/avatar.png",
        "anonymous": False,
        "level": {"rank": 1, "name": "一星", "threshold": 100.0},
        "badges": [
            {"code": "first_service", "name": "初心起步", "earned_on": "2025-05-01"},
            {"code": "first_door_knock", "name": "首次入户走访", "earned_on": "2025-05-01"},
            {"code": "hours_100", "name": "服务百小时", "earned_on": "2025-05-01"},
        ],
    }
    text = answer.get_data(as_text=True)
    for private in (PHONE, PHONE[-4:], "phone", "residence", "household", "hours_to_go"):
        assert private not in text
    # Staff of the member's community, and the member, see the same card.
    for who in ("staff_A", "member"):
        assert town.call(client, who, "GET", f"/users/{ids['member']}/card").get_json() == card


def test_a_member_off_the_leaderboards_is_masked_on_the_card(
    client: FlaskClient, town: Town
) -> None:
    hidden = town.call(client, "member", "PATCH", "/me", {"hide_from_leaderboards": True})
    assert hidden.status_code == 200, hidden.get_json()
    card = town.call(client, "neighbour", "GET", f"/users/{town.ids['member']}/card").get_json()
    assert card["display_name"] == "张**"
    assert card["avatar_url"] is None
    assert card["anonymous"] is True
    assert "张三丰" not in str(card)


@pytest.mark.parametrize(
    ("who", "whose", "status"),
    [
        ("outsider", "member", 404),  # lives in another community
        ("staff_B", "member", 404),  # another community's staff
        ("member", "outsider", 404),
        ("staff_A", "outsider", 404),
        ("staff_B", "outsider", 200),
        ("outsider", "outsider", 200),
    ],
)
def test_the_card_is_for_the_same_community_only(
    client: FlaskClient, town: Town, who: str, whose: str, status: int
) -> None:
    answer = town.call(client, who, "GET", f"/users/{town.ids[whose]}/card")
    assert answer.status_code == status
    if status == 404:
        assert answer.get_json()["code"] == "not_found"


def test_the_card_of_nobody_is_404(client: FlaskClient, town: Town) -> None:
    answer = town.call(client, "member", "GET", f"/users/{town.ids['staff_B'] + 1000}/card")
    assert answer.status_code == 404
    assert answer.get_json()["code"] == "not_found"


def test_a_disabled_members_card_is_gone_for_neighbours_and_staff(
    app: Flask, client: FlaskClient, town: Town
) -> None:
    with app.app_context():
        session = extensions.session()
        neighbour = session.get(User, town.ids["neighbour"])
        assert neighbour is not None
        neighbour.active = False  # as an admin's PATCH /users/{id} leaves them
        session.commit()
    for who in ("member", "staff_A"):
        answer = town.call(client, who, "GET", f"/users/{town.ids['neighbour']}/card")
        assert answer.status_code == 404
