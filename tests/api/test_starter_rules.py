"""What each kind of task earns by the rules the demo world publishes (the starter
rules), through the API: staff post the task, a member signs up, checks in with the
code, checks out, hands in the work, staff approve it, and the member's ledger shows
the amounts and how they were worked out.

The expected numbers are worked out here by hand from the starter rules
(points/rules/starter.py), not by the engine. The clock is held still and moved on
by hand, so hours worked are exact: check-in before the start and check-out after
the end count the whole window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from api import extensions
from service.db import utcnow
from service.demo.world import seed_demo_world
from tests.api.community_helpers import ledger_is_clean
from tests.conftest import signed_in_headers
from tests.integration.seeding import SITE

STAFF, MEMBER = "demo-staff-1", "demo-member-2"  # 幸福社区's staff; a member of its branch


@dataclass
class Demo:
    community: int  # 幸福社区, where the task is posted
    clock: time_machine.Coordinates
    opened: datetime  # when the test's clock stood still

    def at(self, moment: datetime) -> None:
        self.clock.move_to(moment, tick=False)

    def call(self, client: FlaskClient, who: str, method: str, path: str, body: Any = None) -> Any:
        """Signed in afresh each time: access tokens last 15 minutes, and the clock
        jumps hours between steps."""
        return client.open(
            f"/api/v1{path}", method=method, json=body, headers=signed_in_headers(client, who)
        )


@pytest.fixture
def demo(app: Flask) -> Iterator[Demo]:
    """The demo world, seeded (starter rules published on its street), under a clock
    that moves only when told to."""
    opened = utcnow()
    with time_machine.travel(opened, tick=False) as clock:
        with app.app_context():
            world = seed_demo_world(extensions.unit_of_work()).as_json()
        community = next(p for p in world["places"] if p["name"] == "幸福社区")
        yield Demo(community["id"], clock, opened)


def approved_work(
    client: FlaskClient,
    demo: Demo,
    *,
    task_type: str,
    category: str,
    work_unit: str,
    hours: float,
    units: int | None = None,
) -> dict[str, Any]:
    """A task of ``task_type`` posted for an hour from now, lasting ``hours``; the member
    takes part from before it starts to after it ends and hands in ``units``; staff
    approve. Gives the hours counted and the member's transfers and balances."""
    starts = demo.opened + timedelta(hours=1)
    ends = starts + timedelta(hours=hours)
    lat, lng = SITE
    posted = demo.call(
        client,
        STAFF,
        "POST",
        "/tasks",
        {
            "title": f"{task_type} 任务",
            "category": category,
            "type": task_type,
            "org_id": demo.community,
            "lat": lat,
            "lng": lng,
            "radius_m": 300,
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
            "capacity": 5,
            "checkin_mode": "both",
            "work_unit": work_unit,
            "publish": True,
        },
    )
    assert posted.status_code == 201, posted.get_json()
    task = posted.get_json()["id"]
    signed = demo.call(client, MEMBER, "POST", f"/tasks/{task}/signups")
    assert signed.status_code == 201, signed.get_json()
    mine = signed.get_json()["id"]

    here = {"lat": lat, "lng": lng, "accuracy": 15}
    demo.at(starts - timedelta(minutes=10))
    code = demo.call(client, STAFF, "GET", f"/tasks/{task}/checkin-code").get_json()["code"]
    checked_in = demo.call(
        client, MEMBER, "POST", f"/participations/{mine}/checkin", {**here, "code": code}
    )
    assert checked_in.status_code == 200, checked_in.get_json()
    demo.at(ends + timedelta(minutes=5))
    checked_out = demo.call(client, MEMBER, "POST", f"/participations/{mine}/checkout", here)
    assert checked_out.status_code == 200, checked_out.get_json()
    work = {"note": "已完成"} | ({"units": units} if units is not None else {})
    submitted = demo.call(client, MEMBER, "POST", f"/participations/{mine}/submit", work)
    assert submitted.status_code == 200, submitted.get_json()
    approved = demo.call(client, STAFF, "POST", f"/participations/{mine}/approve")
    assert approved.status_code == 200, approved.get_json()

    transfers = demo.call(client, MEMBER, "GET", "/me/transfers").get_json()["items"]
    accounts = demo.call(client, MEMBER, "GET", "/me/accounts").get_json()["items"]
    return {
        "hours": checked_out.get_json()["hours"],
        "transfers": sorted(
            (t["currency"], t["kind"], t["direction"], t["amount"], t["explanation"])
            for t in transfers
        ),
        "balances": {a["currency"]: (a["balance"], a["earned_total"]) for a in accounts},
    }


def test_anti_fraud_outreach_earns_per_resident_helped(
    app: Flask, client: FlaskClient, demo: Demo
) -> None:
    got = approved_work(
        client,
        demo,
        task_type="anti_fraud",
        category="safety",
        work_unit="residents_helped",
        hours=2,
        units=7,
    )
    # 反诈宣传: 积分 base 5 + 1 per resident, 幸福币 base 2 + 1 per resident; hours
    # don't count. 7 residents: 5 + 7 = 12 积分, 2 + 7 = 9 幸福币, inside the daily
    # caps (100 积分, 50 幸福币) with nothing earned before today.
    assert got == {
        "hours": 2.0,
        "transfers": [
            (
                "jifen",
                "earn",
                "in",
                12,
                "反诈宣传 rule: 7 人 × 1 + base 5 = 12 积分; daily cap 100, 100 left → 12 积分",
            ),
            (
                "xingfubi",
                "earn",
                "in",
                9,
                "反诈宣传 rule: 7 人 × 1 + base 2 = 9 幸福币; daily cap 50, 50 left → 9 幸福币",
            ),
        ],
        "balances": {"jifen": (12, 12), "xingfubi": (9, 9)},
    }
    assert ledger_is_clean(app)


def test_a_patrol_earns_per_hour_rounded_half_up(
    app: Flask, client: FlaskClient, demo: Demo
) -> None:
    got = approved_work(
        client, demo, task_type="patrol", category="safety", work_unit="hours", hours=1.5
    )
    # 安全巡逻: 积分 base 5 + 5 per hour, 幸福币 base 3 + 3 per hour, each rounded half
    # up. 1.5 hours: 5 + 7.5 = 12.5 → 13 积分, 3 + 4.5 = 7.5 → 8 幸福币.
    assert got == {
        "hours": 1.5,
        "transfers": [
            (
                "jifen",
                "earn",
                "in",
                13,
                "安全巡逻 rule: 1.5 小时 × 5 + base 5 = 12.5, rounded half up to 13 积分;"
                " daily cap 100, 100 left → 13 积分",
            ),
            (
                "xingfubi",
                "earn",
                "in",
                8,
                "安全巡逻 rule: 1.5 小时 × 3 + base 3 = 7.5, rounded half up to 8 幸福币;"
                " daily cap 50, 50 left → 8 幸福币",
            ),
        ],
        "balances": {"jifen": (13, 13), "xingfubi": (8, 8)},
    }
    assert ledger_is_clean(app)


def test_a_mediation_earns_a_fixed_amount_however_long_it_takes(
    app: Flask, client: FlaskClient, demo: Demo
) -> None:
    got = approved_work(
        client, demo, task_type="mediation", category="governance", work_unit="hours", hours=3
    )
    # 矛盾纠纷调解: a base only, 15 积分 and 10 幸福币; the 3 hours add nothing.
    assert got == {
        "hours": 3.0,
        "transfers": [
            (
                "jifen",
                "earn",
                "in",
                15,
                "矛盾纠纷调解 rule: base 15 = 15 积分; daily cap 100, 100 left → 15 积分",
            ),
            (
                "xingfubi",
                "earn",
                "in",
                10,
                "矛盾纠纷调解 rule: base 10 = 10 幸福币; daily cap 50, 50 left → 10 幸福币",
            ),
        ],
        "balances": {"jifen": (15, 15), "xingfubi": (10, 10)},
    }
    assert ledger_is_clean(app)


def test_neighbour_help_earns_honour_points_per_hour_and_fixed_coins(
    app: Flask, client: FlaskClient, demo: Demo
) -> None:
    got = approved_work(
        client, demo, task_type="neighbour_help", category="charity", work_unit="hours", hours=2
    )
    # 邻里互助: 积分 base 5 + 3 per hour, 幸福币 a base of 5 only.
    # 2 hours: 5 + 6 = 11 积分, 5 幸福币.
    assert got == {
        "hours": 2.0,
        "transfers": [
            (
                "jifen",
                "earn",
                "in",
                11,
                "邻里互助 rule: 2 小时 × 3 + base 5 = 11 积分; daily cap 100, 100 left → 11 积分",
            ),
            (
                "xingfubi",
                "earn",
                "in",
                5,
                "邻里互助 rule: base 5 = 5 幸福币; daily cap 50, 50 left → 5 幸福币",
            ),
        ],
        "balances": {"jifen": (11, 11), "xingfubi": (5, 5)},
    }
    assert ledger_is_clean(app)


def test_a_clean_up_earns_per_hour(app: Flask, client: FlaskClient, demo: Demo) -> None:
    got = approved_work(
        client, demo, task_type="cleanup", category="environment", work_unit="hours", hours=3
    )
    # 环境保护: 积分 base 5 + 4 per hour, 幸福币 base 3 + 2 per hour.
    # 3 hours: 5 + 12 = 17 积分, 3 + 6 = 9 幸福币.
    assert got == {
        "hours": 3.0,
        "transfers": [
            (
                "jifen",
                "earn",
                "in",
                17,
                "环境保护 rule: 3 小时 × 4 + base 5 = 17 积分; daily cap 100, 100 left → 17 积分",
            ),
            (
                "xingfubi",
                "earn",
                "in",
                9,
                "环境保护 rule: 3 小时 × 2 + base 3 = 9 幸福币; daily cap 50, 50 left → 9 幸福币",
            ),
        ],
        "balances": {"jifen": (17, 17), "xingfubi": (9, 9)},
    }
    assert ledger_is_clean(app)
