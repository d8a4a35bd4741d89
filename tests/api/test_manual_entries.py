"""补录 through HTTP: staff enter work done without check-in, capped at the task's length,
with a reason and evidence; it waits for approval as submitted work, priced by the rules;
above the threshold someone other than who entered it approves; it stays flagged
``manual_entry`` wherever it is shown; other communities' staff never reach it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from api import extensions
from points.access import Role, ScopeType
from points.calendar import local_date
from service.audit.models import AuditEntry
from service.certificates.records import verified_hours
from service.db import utcnow
from service.people.models import RoleGrant, User
from service.tasks.models import Participation, Task
from service.uploads.models import ParticipationPhoto
from tests.api.community_helpers import balances, ledger_is_clean, publish_starter_rules
from tests.api.test_demand_loop import signed_in, user_id
from tests.api.world import World, demo_task


@pytest.fixture
def frozen() -> Iterator[datetime]:
    """The clock stands still while a test runs; its patrols began five hours before."""
    now = utcnow().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        yield now


@pytest.fixture
def rules(app: Flask, world: World) -> None:
    publish_starter_rules(app, world)


def patrol(app: Flask, world: World, hours: int = 3, **changes: Any) -> int:
    """A published patrol at community A that began five hours ago and ran ``hours``."""
    with app.app_context():
        session = extensions.session()
        starts = utcnow() - timedelta(hours=5)
        fields = demo_task(
            world.ids["community_A"],
            type="patrol",
            category="safety",
            work_unit="hours",
            starts_at=starts,
            ends_at=starts + timedelta(hours=hours),
            capacity=1,
        )
        fields.update({"status": "published", **changes})
        task = Task(**fields, created_by_id=world.ids["person_A"])
        session.add(task)
        session.commit()
        return task.id


def photo(client: FlaskClient, world: World, role: str = "staff") -> int:
    data = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 160, 60)).save(data, format="JPEG")
    uploaded = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(data.getvalue()), "巡逻.jpg")},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {world.tokens[role]}"},
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    upload_id: int = uploaded.get_json()["id"]
    return upload_id


def enter(client: FlaskClient, world: World, task: int, role: str = "staff", **body: Any) -> Any:
    wanted = {
        "user_id": user_id(world, "member"),
        "hours": 3,
        "reason": "手机没电，未能签到",
        "note": "网格长现场见证",
        **body,
    }
    return world.call(client, role, "POST", f"/tasks/{task}/manual-entries", wanted)


def staff_of(app: Flask, world: World, side: str, key: str) -> str:
    user = User(name=f"{key}", residence_place_id=world.ids[f"grid_{side}"])
    user.grants.append(
        RoleGrant(
            role=Role.STAFF.value,
            scope_type=ScopeType.PLACE.value,
            scope_id=world.ids[f"community_{side}"],
        )
    )
    return signed_in(app, world, key, user)


def test_entered_work_is_submitted_flagged_and_credited_as_the_rules_price(
    app: Flask, client: FlaskClient, world: World, rules: None, frozen: datetime
) -> None:
    task = patrol(app, world)
    upload = photo(client, world)
    entered = enter(client, world, task, upload_ids=[upload])
    assert entered.status_code == 201, entered.get_json()
    body = entered.get_json()
    assert body["status"] == "submitted"
    assert body["manual_entry"] is True
    assert "manual_entry" in body["flags"]
    assert body["hours"] == 3.0
    assert body["entered_by_id"] == user_id(world, "staff")
    assert body["entry_reason"] == "手机没电，未能签到"
    assert body["note"] == "网格长现场见证"
    assert body["needs_second_staff"] is False
    assert world.call(client, "admin", "GET", "/me/notifications").get_json()["items"] == []
    assert len(body["photos"]) == 1
    assert body["checked_in_at"] is None

    queue = world.call(client, "staff", "GET", "/approvals").get_json()["items"]
    shown = next(p for p in queue if p["id"] == body["id"])
    assert shown["manual_entry"] is True
    assert "manual_entry" in shown["flags"]

    # At the threshold or below, whoever entered it may approve it.
    approved = world.call(client, "staff", "POST", f"/participations/{body['id']}/approve")
    assert approved.status_code == 200, approved.get_json()
    amounts = {t["currency"]: t["amount"] for t in approved.get_json()["transfers"]}
    # 安全巡逻, party member: 5 + 5 × 3 h 积分, 3 + 3 × 3 h 幸福币 (the starter rules).
    assert amounts == {"jifen": 20, "xingfubi": 12}
    assert balances(client, world, "member") == {"jifen": 20, "xingfubi": 12}
    assert ledger_is_clean(app)

    mine = world.call(client, "member", "GET", "/me/participations").get_json()["items"]
    own = next(p for p in mine if p["id"] == body["id"])
    assert own["manual_entry"] is True
    assert own["status"] == "approved"

    with app.app_context():
        session = extensions.session()
        stored = session.get(Participation, body["id"])
        assert stored is not None
        assert stored.entered_by_id == user_id(world, "staff")
        kept = session.scalars(
            select(ParticipationPhoto.upload_id).where(
                ParticipationPhoto.participation_id == body["id"]
            )
        ).all()
        assert kept == [upload]
        audit = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "participation.record_manually",
                AuditEntry.object_id == body["id"],
            )
        ).one()
        assert audit.actor_id == user_id(world, "staff")
        assert audit.after is not None
        assert audit.after["reason"] == "手机没电，未能签到"
        assert audit.after["hours"] == "3.00"
        assert audit.after["upload_ids"] == [upload]


def soon(app: Flask, world: World, now: datetime) -> int:
    """A three-hour patrol starting in five minutes, for signing up before it starts."""
    starts = now + timedelta(minutes=5)
    return patrol(app, world, starts_at=starts, ends_at=starts + timedelta(hours=3))


def test_a_sign_up_never_checked_in_is_entered_in_its_own_participation(
    app: Flask, client: FlaskClient, world: World, frozen: datetime
) -> None:
    task = soon(app, world, frozen)
    signed = world.call(client, "member", "POST", f"/tasks/{task}/signups")
    assert signed.status_code == 201, signed.get_json()
    # Entered once it is over: the hours can't be more than it has run.
    with time_machine.travel(frozen + timedelta(hours=3, minutes=10), tick=False):
        world.refresh_token(app, "staff")
        entered = enter(client, world, task, hours=2.5)
    assert entered.status_code == 201, entered.get_json()
    assert entered.status_code == 201, entered.get_json()
    assert entered.get_json()["id"] == signed.get_json()["id"]
    assert entered.get_json()["hours"] == 2.5
    with app.app_context():
        seats = extensions.session().get(Task, task)
        assert seats is not None
        assert seats.signed_up_count == 1


def test_a_full_task_takes_work_already_done_without_a_seat(
    app: Flask, client: FlaskClient, world: World, frozen: datetime
) -> None:
    task = soon(app, world, frozen)  # capacity 1
    assert world.call(client, "volunteer", "POST", f"/tasks/{task}/signups").status_code == 201
    # Entered once it is over: the hours can't be more than it has run.
    with time_machine.travel(frozen + timedelta(hours=3, minutes=10), tick=False):
        world.refresh_token(app, "staff")
        entered = enter(client, world, task)
    assert entered.status_code == 201, entered.get_json()
    assert entered.get_json()["role"] == "member"
    with app.app_context():
        seats = extensions.session().get(Task, task)
        assert seats is not None
        assert seats.signed_up_count == 1


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"hours": 3.01}, "hours", "hours_above_task_length"),
        ({"hours": 0}, "hours", "validation_error"),
        ({"reason": ""}, "reason", "validation_error"),
        ({"reason": None}, "reason", "validation_error"),
        ({"note": "", "upload_ids": []}, "note", "evidence_required"),
    ],
)
def test_bad_entries_are_refused_and_change_nothing(
    app: Flask,
    client: FlaskClient,
    world: World,
    frozen: datetime,
    body: dict[str, Any],
    field: str,
    code: str,
) -> None:
    task = patrol(app, world)
    refused = enter(client, world, task, **body)
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["code"] == code
    assert field in refused.get_json()["errors"]
    with app.app_context():
        rows = extensions.session().scalars(
            select(Participation).where(Participation.task_id == task)
        )
        assert list(rows) == []


def test_the_reason_is_required(
    app: Flask, client: FlaskClient, world: World, frozen: datetime
) -> None:
    task = patrol(app, world)
    wanted = {"user_id": user_id(world, "member"), "hours": 1, "note": "见证"}
    refused = world.call(client, "staff", "POST", f"/tasks/{task}/manual-entries", wanted)
    assert refused.status_code == 422
    assert "reason" in refused.get_json()["errors"]


def test_counted_work_needs_its_units(
    app: Flask, client: FlaskClient, world: World, frozen: datetime
) -> None:
    task = patrol(app, world, type="door_knock", work_unit="households")
    refused = enter(client, world, task)
    assert refused.status_code == 422
    assert "units" in refused.get_json()["errors"]
    assert enter(client, world, task, units=4).get_json()["units"] == 4
    # Counted work is priced per unit: many units entered by hand need someone else too.
    many = enter(client, world, task, user_id=user_id(world, "volunteer"), hours=1, units=11)
    assert many.get_json()["needs_second_staff"] is True
    own = world.call(client, "staff", "POST", f"/participations/{many.get_json()['id']}/approve")
    assert (own.status_code, own.get_json()["code"]) == (403, "second_staff_required")


def test_work_is_entered_only_for_someone_the_task_was_posted_for(
    app: Flask, client: FlaskClient, world: World, frozen: datetime
) -> None:
    with app.app_context():
        session = extensions.session()
        elsewhere = User(name="别处党员", residence_place_id=world.ids["grid_B"])
        elsewhere.grants.append(
            RoleGrant(
                role=Role.MEMBER.value,
                scope_type=ScopeType.PLACE.value,
                scope_id=world.ids["grid_B"],
            )
        )
        session.add(elsewhere)
        session.commit()
        outsider = elsewhere.id
    task = patrol(app, world)
    refused = enter(client, world, task, user_id=outsider)
    # The same answer as for nobody: another community's people can't be probed.
    assert (refused.status_code, refused.get_json()["code"]) == (404, "not_found")
    with app.app_context():
        rows = extensions.session().scalars(
            select(Participation).where(Participation.task_id == task)
        )
        assert list(rows) == []


def test_a_task_under_way_takes_only_the_hours_it_has_run(
    app: Flask, client: FlaskClient, world: World, frozen: datetime
) -> None:
    # Began five hours ago and runs eight: five hours have been served at most.
    task = patrol(app, world, hours=8)
    too_many = enter(client, world, task, hours=6)
    assert (too_many.status_code, too_many.get_json()["errors"]) == (
        422,
        {"hours": ["at most 5.00"]},
    )
    assert enter(client, world, task, hours=5).status_code == 201


def test_what_refuses_an_entry(
    app: Flask, client: FlaskClient, world: World, frozen: datetime
) -> None:
    task = patrol(app, world)
    later = soon(app, world, frozen)
    early = enter(client, world, later, hours=1)
    assert (early.status_code, early.get_json()["code"]) == (409, "task_not_started")
    resident = enter(client, world, task, user_id=user_id(world, "resident"))
    assert (resident.status_code, resident.get_json()["code"]) == (403, "not_in_audience")
    nobody = enter(client, world, task, user_id=999_999)
    assert (nobody.status_code, nobody.get_json()["code"]) == (404, "not_found")
    own = enter(client, world, task, user_id=user_id(world, "staff"))
    assert (own.status_code, own.get_json()["code"]) == (403, "self_approval")
    member = enter(client, world, task, role="member", user_id=user_id(world, "volunteer"))
    assert member.status_code == 404  # a grid's member manages nothing of the community
    assert enter(client, world, task).status_code == 201
    again = enter(client, world, task)
    assert (again.status_code, again.get_json()["code"]) == (409, "invalid_transition")


def test_another_communitys_staff_get_404_and_change_nothing(
    app: Flask, client: FlaskClient, world: World, frozen: datetime
) -> None:
    task = patrol(app, world)
    other = staff_of(app, world, "B", "staff_B")
    refused = enter(client, world, task, role=other)
    assert refused.status_code == 404
    with app.app_context():
        rows = extensions.session().scalars(
            select(Participation).where(Participation.task_id == task)
        )
        assert list(rows) == []
    entered = enter(client, world, task).get_json()
    approve = world.call(client, other, "POST", f"/participations/{entered['id']}/approve")
    assert approve.status_code == 404


def test_above_the_threshold_a_second_staff_member_approves(
    app: Flask, client: FlaskClient, world: World, rules: None, frozen: datetime
) -> None:
    task = patrol(app, world, hours=6)
    entered = enter(client, world, task, hours=5).get_json()
    assert entered["needs_second_staff"] is True
    # Those who may approve it hear; who entered it doesn't.
    told = world.call(client, "admin", "GET", "/me/notifications").get_json()["items"]
    assert [n["kind"] for n in told] == ["participation.to_confirm"]
    assert "补录 5.00 小时" in told[0]["body"]
    assert world.call(client, "staff", "GET", "/me/notifications").get_json()["items"] == []
    own = world.call(client, "staff", "POST", f"/participations/{entered['id']}/approve")
    assert (own.status_code, own.get_json()["code"]) == (403, "second_staff_required")
    bulk = world.call(
        client, "staff", "POST", "/approvals/bulk", {"participation_ids": [entered["id"]]}
    )
    assert bulk.get_json()["results"][0]["code"] == "second_staff_required"
    assert balances(client, world, "member") == {"jifen": 0, "xingfubi": 0}
    with app.app_context():
        stored = extensions.session().get(Participation, entered["id"])
        assert stored is not None
        assert stored.status == "submitted"

    second = staff_of(app, world, "A", "staff_A2")
    approved = world.call(client, second, "POST", f"/participations/{entered['id']}/approve")
    assert approved.status_code == 200, approved.get_json()
    amounts = {t["currency"]: t["amount"] for t in approved.get_json()["transfers"]}
    assert amounts == {"jifen": 5 + 5 * 5, "xingfubi": 3 + 3 * 5}
    # Its reversal is the usual one: the points go back.
    reversed_ = world.call(
        client, "staff", "POST", f"/participations/{entered['id']}/reverse", {"reason": "重复录入"}
    )
    assert reversed_.status_code == 200, reversed_.get_json()
    assert balances(client, world, "member") == {"jifen": 0, "xingfubi": 0}
    assert ledger_is_clean(app)


def test_the_entering_staff_member_may_still_reject_it(
    app: Flask, client: FlaskClient, world: World, frozen: datetime
) -> None:
    task = patrol(app, world, hours=6)
    entered = enter(client, world, task, hours=5).get_json()
    rejected = world.call(
        client, "staff", "POST", f"/participations/{entered['id']}/reject", {"reason": "录错了人"}
    )
    assert rejected.status_code == 200
    assert rejected.get_json()["status"] == "rejected"


def verified_and_entered(app: Flask, client: FlaskClient, world: World, frozen: datetime) -> None:
    """The member's approved work today: two hours checked in, three entered by hand."""
    member = user_id(world, "member")
    checked = patrol(app, world, hours=2)
    with app.app_context():
        session = extensions.session()
        # Work checked in and out, approved: two verified hours.
        session.add(
            Participation(
                task_id=checked,
                user_id=member,
                role="member",
                status="approved",
                checked_in_at=frozen - timedelta(hours=5),
                checked_out_at=frozen - timedelta(hours=3),
                hours=Decimal(2),
                units=0,
                submitted_at=frozen,
                decided_at=frozen,
                decided_by_id=user_id(world, "admin"),
            )
        )
        session.commit()
    entered = enter(client, world, patrol(app, world)).get_json()
    approved = world.call(client, "admin", "POST", f"/participations/{entered['id']}/approve")
    assert approved.status_code == 200, approved.get_json()


def test_verified_and_entered_hours_are_kept_apart_in_records_and_reports(
    app: Flask, client: FlaskClient, world: World, rules: None, frozen: datetime
) -> None:
    verified_and_entered(app, client, world, frozen)
    member = user_id(world, "member")
    records = world.call(client, "member", "GET", "/me/service-records").get_json()
    assert sorted((r["manual_entry"], r["hours"]) for r in records["items"]) == [
        (False, 2.0),
        (True, 3.0),
    ]
    [year] = records["years"]
    assert (year["hours"], year["verified_hours"], year["entered_hours"]) == (5.0, 2.0, 3.0)
    with app.app_context():
        verified = verified_hours(extensions.session(), member)
        assert sum(v.hours for v in verified) == Decimal("2.00")
    # Service levels count verified hours only.
    achievements = world.call(client, "member", "GET", "/me/achievements").get_json()
    assert achievements["hours"] == 2.0

    scope = f"org:{world.ids['community_A']}"
    report = world.call(client, "root", "GET", f"/reports/summary?scope={scope}").get_json()
    own = report["own"]["figures"]
    assert (own["volunteer_hours"], own["verified_hours"], own["entered_hours"]) == (5.0, 2.0, 3.0)
    csv_file = client.get(
        "/api/v1/reports/summary",
        query_string={"scope": scope, "format": "csv"},
        headers={"Authorization": f"Bearer {world.tokens['root']}"},
    )
    rows = {row[1]: row[2] for row in csv.reader(io.StringIO(csv_file.data.decode("utf-8-sig")))}
    assert (rows["verified_hours"], rows["entered_hours"]) == ("2.0", "3.0")
    league = world.call(
        client, "root", "GET", f"/reports/league?scope=org:{world.ids['street']}"
    ).get_json()
    a = next(row for row in league["rows"] if row["name"] == "社区A")["figures"]
    assert (a["verified_hours"], a["entered_hours"]) == (2.0, 3.0)


def test_a_certificate_states_entered_hours_apart(
    app: Flask, client: FlaskClient, world: World, rules: None, frozen: datetime
) -> None:
    verified_and_entered(app, client, world, frozen)
    today = local_date(frozen)
    period = {"from": (today - timedelta(days=2)).isoformat(), "to": today.isoformat()}
    issued = world.call(client, "member", "POST", "/me/certificates", period)
    assert issued.status_code == 201, issued.get_json()
    body = issued.get_json()
    assert (body["total_hours"], body["verified_hours"], body["entered_hours"]) == (5.0, 2.0, 3.0)
    assert sorted((s["manual_entry"], s["hours"]) for s in body["services"]) == [
        (False, 2.0),
        (True, 3.0),
    ]
    pdf = client.get(body["pdf_url"], headers={"Authorization": f"Bearer {world.tokens['member']}"})
    assert pdf.status_code == 200
    text = re.sub(
        r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    )
    assert "累计志愿服务时长5.00小时（其中签到核验2.00小时，补录3.00小时）" in text
    assert text.count("（补录）") == 1


def test_someone_who_withdrew_and_came_anyway_is_entered_in_their_participation(
    app: Flask, client: FlaskClient, world: World, frozen: datetime
) -> None:
    task = soon(app, world, frozen)
    signed = world.call(client, "member", "POST", f"/tasks/{task}/signups").get_json()
    gone = world.call(client, "member", "POST", f"/participations/{signed['id']}/cancel")
    assert gone.get_json()["status"] == "cancelled"
    # Entered once it is over: the hours can't be more than it has run.
    with time_machine.travel(frozen + timedelta(hours=3, minutes=10), tick=False):
        world.refresh_token(app, "staff")
        entered = enter(client, world, task, hours=1)
    assert entered.status_code == 201, entered.get_json()
    assert (entered.get_json()["id"], entered.get_json()["status"]) == (signed["id"], "submitted")
    with app.app_context():
        seats = extensions.session().get(Task, task)
        assert seats is not None
        assert seats.signed_up_count == 0  # the seat it gave up stays given up


def test_a_cancelled_task_takes_no_entries(
    app: Flask, client: FlaskClient, world: World, frozen: datetime
) -> None:
    task = patrol(app, world, status="cancelled")
    refused = enter(client, world, task)
    assert (refused.status_code, refused.get_json()["code"]) == (409, "task_not_open")
