"""Text the API takes, over every string field of the OpenAPI document (bodies and query
strings), generated from it so that a new field can't be forgotten: NUL is 422
``invalid_text`` naming the field, and nothing is stored; CJK, emoji and, where text
may wrap, line breaks and tabs are taken and read back unchanged.

Which rule a field follows is in the document, as ``x-text``: ``line``, ``multiline``
or ``verbatim`` (api/text.py); tests/api/test_text_schemas.py checks that every string
says."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import count
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import JSON, String, Text, cast, or_, select

from api import extensions
from points.rules import starter_rule_set
from service.auth.bootstrap import NewAdmin, create_admin
from service.db import utcnow
from service.households.models import HouseholdResident, ParticipationHousehold
from service.models import Base
from service.tasks.models import Participation, ParticipationRating, Task, TaskSeries
from service.tasks.series import post_due
from tests.api.openapi_walk import (
    TextField,
    error_at,
    request_for,
    rows_everywhere,
    send,
    text_fields,
)
from tests.api.test_access_matrix import new_series_body
from tests.api.world import World, demo_task

NUL = "连\x00心"


def test_nul_in_any_string_field_is_422_invalid_text_naming_it_and_stores_nothing(
    app: Flask, client: FlaskClient, world: World, spec: dict[str, Any], caplog: Any
) -> None:
    before = rows_everywhere(app)
    fields = list(text_fields(spec))
    wrong = []
    for field in fields:
        response = send(client, world, field.method, **request_for(spec, field, {field.at: NUL}))
        body = response.get_json(silent=True) or {}
        refused = error_at(body.get("errors"), field.at)
        if (response.status_code, body.get("code")) != (422, "invalid_text") or not refused:
            wrong.append((field.method, field.path, field.at, response.status_code, body))
    assert not wrong, wrong[:5]
    # Names, titles, reasons, notes, codes, tokens, enums and query strings among them.
    assert len(fields) >= 90
    assert {f.location for f in fields} == {"json", "query"}
    assert rows_everywhere(app) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_line_break_in_a_line_a_tab_in_a_token_or_an_escape_anywhere_is_refused(
    app: Flask, client: FlaskClient, world: World, spec: dict[str, Any]
) -> None:
    before = rows_everywhere(app)
    wrong = []
    for field in text_fields(spec):
        sent = {"line": "连\n心", "verbatim": "连\t心", "multiline": "连\x1b[31m心"}
        value = sent[field.prop["x-text"]]
        response = send(client, world, field.method, **request_for(spec, field, {field.at: value}))
        if response.status_code != 422 or response.get_json()["code"] != "invalid_text":
            wrong.append((field.method, field.path, field.at, response.status_code))
    assert not wrong, wrong[:5]
    assert rows_everywhere(app) == before


def test_other_faults_beside_text_are_a_validation_error_naming_each(
    client: FlaskClient, world: World
) -> None:
    response = send(client, world, "POST", "/api/v1/places", json={"name": NUL, "level": "galaxy"})
    body = response.get_json()
    assert (response.status_code, body["code"]) == (422, "validation_error")
    assert set(body["errors"]) == {"name", "level", "parent_id"}
    assert "U+0000" in body["errors"]["name"][0]


# --- taken and read back ---------------------------------------------------------------

LINE = "连心 张伟🌸👩‍👩‍👧"
MULTILINE = "第一行 🌸\n\t第二行：\u3000送菜上门"


@dataclass(frozen=True)
class Case:
    """An operation done for real: the world's objects its path names, the rest of what
    it needs, who does it, and where the response shows each text field (when it names
    it otherwise)."""

    objects: dict[str, str] = dataclasses.field(default_factory=dict)  # path parameter → World.ids
    body: Callable[[World], dict[str, Any]] = lambda _: {}
    role: str = "root"
    shown: dict[str, str | None] | None = None  # field → response key; None: not shown
    stored: bool = True  # False: the text is looked for, not kept
    prepare: Callable[[Flask, FlaskClient, World, str], None] | None = None


def posted_occurrence(app: Flask, _client: FlaskClient, world: World, _text: str) -> None:
    with app.app_context():
        session = extensions.session()
        series = session.get(TaskSeries, world.ids["series_A"])
        assert series is not None
        assert post_due(session, series, utcnow(), 14)
        session.commit()


def series_body(world: World) -> dict[str, Any]:
    body = new_series_body(world.ids["community_A"])
    return {k: v for k, v in body.items() if k not in ("title", "description", "address")}


def task_body(world: World) -> dict[str, Any]:
    starts = utcnow() + timedelta(days=7)
    return {
        "org_id": world.ids["community_A"],
        "category": "service",
        "type": "door_knock",
        "lat": 39.9163,
        "lng": 116.4039,
        "radius_m": 300,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(),
        "capacity": 5,
        "checkin_mode": "both",
        "work_unit": "households",
    }


def new_task(app: Flask, client: FlaskClient, world: World, value: str) -> None:
    made = send(client, world, "POST", "/api/v1/tasks", json={**task_body(world), "title": "巡逻"})
    assert made.status_code == 201, made.get_json()
    world.ids["new_task"] = made.get_json()["id"]


def checked_out_work(app: Flask, client: FlaskClient, world: World, value: str) -> None:
    member = user_of(world, "member")
    with app.app_context():
        session = extensions.session()
        work = Participation(
            task_id=world.ids["published_task_A"],
            user_id=member,
            role="member",
            status="checked_out",
        )
        session.add(work)
        session.commit()
        world.ids["checked_out"] = work.id


def no_show(app: Flask, client: FlaskClient, world: World, value: str) -> None:
    """The member missed a task of community A (as the sweep would mark it)."""
    with app.app_context():
        session = extensions.session()
        missed = Participation(
            task_id=world.ids["draft_task_A"],
            user_id=user_of(world, "member"),
            role="member",
            status="no_show",
            no_show_at=utcnow(),
        )
        session.add(missed)
        session.commit()
        world.ids["no_show"] = missed.id


def started_patrol(app: Flask, client: FlaskClient, world: World, value: str) -> None:
    """A patrol that began an hour ago, for work entered by hand (补录)."""
    with app.app_context():
        session = extensions.session()
        starts = utcnow() - timedelta(hours=1)
        task = Task(
            **demo_task(
                world.ids["community_A"],
                type="patrol",
                work_unit="hours",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
            ),
            status="published",
            created_by_id=world.ids["person_A"],
        )
        session.add(task)
        session.commit()
        world.ids["started_patrol"] = task.id


def approved_work(app: Flask, client: FlaskClient, world: World, value: str) -> None:
    publish = send(client, world, "POST", f"/api/v1/rule-sets/{world.ids['rules_B']}/publish")
    assert publish.status_code == 200, publish.get_json()
    approve = send(
        client, world, "POST", f"/api/v1/participations/{world.ids['participation_B']}/approve"
    )
    assert approve.status_code == 200, approve.get_json()


def demand_at(*steps: tuple[str, str, dict[str, Any]]) -> Any:
    """A preparation: a demand of its own (each case needs its own, the world is shared),
    taken through ``steps`` (role, step, body), kept in the world as ``loop_demand``."""

    def prepare(app: Flask, client: FlaskClient, world: World, value: str) -> None:
        body = {"category": "facility", "description": "路灯不亮", "org_id": world.ids["grid_A"]}
        made = world.call(client, "resident", "POST", "/demands", body)
        assert made.status_code == 201, made.get_json()
        world.ids["loop_demand"] = made.get_json()["id"]
        for role, step, sent in steps:
            path = f"/demands/{world.ids['loop_demand']}/{step}"
            done = world.call(client, role, "POST", path, sent)
            assert done.status_code == 200, done.get_json()

    return prepare


ACCEPTED = (("root", "accept", {}),)
OWNED = (*ACCEPTED, ("root", "assign", {"owner": "staff"}))
RESOLVED = (*OWNED, ("root", "resolve", {"resolution": "已修好"}))
VERIFIED = (*RESOLVED, ("admin", "verify", {}))
LOOP = {"demand_id": "loop_demand"}


def console_user(app: Flask, client: FlaskClient, world: World, value: str) -> None:
    with app.app_context():
        create_admin(
            extensions.unit_of_work(),
            NewAdmin(
                name="管理员", username=value, password=PASSWORD, place_id=world.ids["street"]
            ),
        )


def user_of(world: World, role: str) -> int:
    return int(jwt.decode(world.tokens[role], options={"verify_signature": False})["sub"])


def order_at(*steps: tuple[str, str, dict[str, Any]]) -> Any:
    """A preparation: a delivery the member orders for the world's household A (代办),
    taken through ``steps``, kept in the world as ``loop_demand``."""

    def prepare(app: Flask, client: FlaskClient, world: World, value: str) -> None:
        body = {
            "category": "service",
            "description": "买菜：青菜两斤",
            "org_id": world.ids["grid_A"],
            "order": "delivery",
            "household_id": world.ids["household_A"],
        }
        made = world.call(client, "member", "POST", "/demands", body)
        assert made.status_code == 201, made.get_json()
        world.ids["loop_demand"] = made.get_json()["id"]
        for role, step, sent in steps:
            done = world.call(
                client, role, "POST", f"/demands/{world.ids['loop_demand']}/{step}", sent
            )
            assert done.status_code == 200, done.get_json()

    return prepare


def work_reaching_a_resident(app: Flask, client: FlaskClient, world: World, value: str) -> None:
    """The volunteer's approved work reached household A, where the resident lives."""
    with app.app_context():
        session = extensions.session()
        work = Participation(
            task_id=world.ids["published_task_A"],
            user_id=user_of(world, "volunteer"),
            role="volunteer",
            status="approved",
            decided_at=utcnow(),
        )
        session.add(work)
        session.flush()
        session.add(
            ParticipationHousehold(participation_id=work.id, household_id=world.ids["household_A"])
        )
        session.add(
            HouseholdResident(
                household_id=world.ids["household_A"],
                user_id=user_of(world, "resident"),
                added_by_id=user_of(world, "staff"),
            )
        )
        session.commit()
        world.ids["rated_work"] = work.id


def low_rating(app: Flask, client: FlaskClient, world: World, value: str) -> None:
    with app.app_context():
        session = extensions.session()
        rating = ParticipationRating(
            participation_id=world.ids["participation_A"],
            household_id=world.ids["household_A"],
            rater_id=user_of(world, "resident"),
            score=1,
            comment="没有送到",
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(rating)
        session.commit()
        world.ids["low_rating"] = rating.id


def proxy_link(app: Flask, client: FlaskClient, world: World, value: str) -> None:
    """代办: the shopper of side B acts for the person of side B, kept as ``proxy_link``."""
    body = {"proxy_id": world.ids["shopper_B"], "consent": {"method": "in_person"}}
    made = world.call(client, "root", "POST", f"/people/{world.ids['person_B']}/proxies", body)
    assert made.status_code == 201, made.get_json()
    world.ids["proxy_link"] = made.get_json()["id"]


REASON: dict[str, str | None] = {"reason": None}
PASSWORD = "连心-密码-2030"
CASES: dict[tuple[str, str], Case] = {
    ("POST", "/api/v1/auth/password"): Case(
        body=lambda _: {"password": PASSWORD},
        shown={"username": None},
        stored=False,
        prepare=console_user,
    ),
    ("PATCH", "/api/v1/me"): Case(),
    ("POST", "/api/v1/households/{household_id}/offline-residents"): Case(
        {"household_id": "household_A"}
    ),
    ("POST", "/api/v1/people/{user_id}/proxies"): Case(
        {"user_id": "person_A"},
        body=lambda w: {"proxy_id": w.ids["shopper_A"], "consent": {"method": "signed_form"}},
        shown={"note": None},
    ),
    ("POST", "/api/v1/proxy-links/{link_id}/end"): Case(
        {"link_id": "proxy_link"}, shown={"reason": "end_reason"}, prepare=proxy_link
    ),
    ("POST", "/api/v1/places"): Case(
        body=lambda w: {"parent_id": w.ids["street"], "level": "community"}
    ),
    ("PATCH", "/api/v1/places/{place_id}"): Case({"place_id": "grid_B"}),
    ("PATCH", "/api/v1/users/{user_id}"): Case({"user_id": "person_A"}),
    ("POST", "/api/v1/departments"): Case(),
    ("PATCH", "/api/v1/departments/{department_id}"): Case({"department_id": "department"}),
    ("POST", "/api/v1/branches"): Case(body=lambda w: {"place_id": w.ids["community_B"]}),
    ("POST", "/api/v1/rule-sets"): Case(
        body=lambda w: {
            "org_id": w.ids["grid_A"],
            "effective_from": (utcnow() + timedelta(days=30)).date().isoformat(),
            "content": starter_rule_set(),
        },
    ),
    ("PATCH", "/api/v1/rule-sets/{rule_set_id}"): Case({"rule_set_id": "rules_A"}),
    ("POST", "/api/v1/users/{user_id}/adjustments"): Case(
        {"user_id": "person_A"},
        body=lambda _: {"kind": "award", "currency": "jifen", "amount": 1},
    ),
    ("POST", "/api/v1/adjustments/{adjustment_id}/reject"): Case(
        {"adjustment_id": "adjustment_A"}, shown=REASON
    ),
    ("POST", "/api/v1/transfers/{transfer_id}/reverse"): Case(
        {"transfer_id": "earning_A"}, shown=REASON
    ),
    ("POST", "/api/v1/award-imports"): Case(shown={"batch": None}, stored=False),
    ("POST", "/api/v1/tasks"): Case(body=task_body),
    # The note is kept with the edit's change record (GET /tasks/{id}/changes).
    ("PATCH", "/api/v1/tasks/{task_id}"): Case(
        {"task_id": "draft_task_A"}, body=lambda _: {"version": 1}, shown={"note": None}
    ),
    ("POST", "/api/v1/tasks/{task_id}/cancel"): Case(
        {"task_id": "new_task"},
        shown={"reason": "cancel_reason"},
        prepare=new_task,
    ),
    ("POST", "/api/v1/task-series"): Case(body=series_body),
    # The note is kept with the change of each occurrence the edit reaches.
    ("PATCH", "/api/v1/task-series/{series_id}"): Case(
        {"series_id": "series_A"},
        body=lambda _: {"version": 1},
        shown={"note": None},
        prepare=posted_occurrence,
    ),
    ("POST", "/api/v1/task-series/{series_id}/end"): Case(
        {"series_id": "series_A"}, shown={"reason": "end_reason"}
    ),
    ("POST", "/api/v1/participations/{participation_id}/submit"): Case(
        {"participation_id": "checked_out"},
        body=lambda _: {"units": 3},
        role="member",
        prepare=checked_out_work,
    ),
    ("POST", "/api/v1/tasks/{task_id}/manual-entries"): Case(
        {"task_id": "started_patrol"},
        body=lambda w: {"user_id": user_of(w, "member"), "hours": 1},
        shown={"reason": "entry_reason"},
        prepare=started_patrol,
    ),
    ("POST", "/api/v1/participations/{participation_id}/reject"): Case(
        {"participation_id": "participation_A"},
        shown={"reason": "reject_reason"},
    ),
    ("POST", "/api/v1/participations/{participation_id}/reverse"): Case(
        {"participation_id": "participation_B"},
        shown={"reason": "participation.reject_reason"},
        prepare=approved_work,
    ),
    ("POST", "/api/v1/participations/{participation_id}/excuse"): Case(
        {"participation_id": "no_show"}, shown={"reason": "excuse_reason"}, prepare=no_show
    ),
    ("GET", "/api/v1/households"): Case(shown={"q": None}, stored=False),
    ("POST", "/api/v1/households"): Case(body=lambda w: {"org_id": w.ids["grid_A"]}),
    ("PATCH", "/api/v1/households/{household_id}"): Case({"household_id": "household_B"}),
    ("POST", "/api/v1/household-visits"): Case(
        body=lambda w: {"household_id": w.ids["household_A"], "visited_at": utcnow().isoformat()},
        role="member",
    ),
    ("POST", "/api/v1/household-visits/{visit_id}/reject"): Case(
        {"visit_id": "visit_A"},
        shown={"reason": "reject_reason"},
    ),
    ("POST", "/api/v1/demands"): Case(
        body=lambda w: {"category": "environment", "org_id": w.ids["grid_A"]},
        role="member",
    ),
    ("POST", "/api/v1/demands/{demand_id}/decline"): Case(
        {"demand_id": "demand_A"},
        shown={"reason": "decline_reason"},
    ),
    ("POST", "/api/v1/demands/{demand_id}/resolve"): Case(LOOP, prepare=demand_at(*OWNED)),
    # The loop's notes and reasons are kept on the demand's timeline, not echoed.
    ("POST", "/api/v1/demands/{demand_id}/accept"): Case(
        LOOP, shown={"note": None}, prepare=demand_at()
    ),
    ("POST", "/api/v1/demands/{demand_id}/assign"): Case(
        LOOP,
        body=lambda _: {"owner": "staff"},
        shown={"note": None},
        prepare=demand_at(*ACCEPTED),
    ),
    ("POST", "/api/v1/demands/{demand_id}/escalate"): Case(
        LOOP, shown=REASON, prepare=demand_at(*ACCEPTED)
    ),
    ("POST", "/api/v1/demands/{demand_id}/close"): Case(
        LOOP, shown={"note": None}, prepare=demand_at(*ACCEPTED)
    ),
    ("POST", "/api/v1/demands/{demand_id}/start"): Case(
        LOOP, shown={"note": None}, prepare=demand_at(*OWNED)
    ),
    ("POST", "/api/v1/demands/{demand_id}/return"): Case(
        LOOP, shown=REASON, prepare=demand_at(*OWNED)
    ),
    ("POST", "/api/v1/demands/{demand_id}/send-back"): Case(
        LOOP, shown=REASON, prepare=demand_at(*RESOLVED)
    ),
    ("POST", "/api/v1/demands/{demand_id}/verify"): Case(
        LOOP, role="admin", shown={"note": None}, prepare=demand_at(*RESOLVED)
    ),
    ("POST", "/api/v1/demands/{demand_id}/rating"): Case(
        LOOP,
        role="resident",
        body=lambda _: {"score": 4},
        shown={"comment": "rating.comment"},
        prepare=demand_at(*VERIFIED),
    ),
    ("POST", "/api/v1/demands/{demand_id}/task"): Case(
        LOOP,
        body=lambda _: {
            "starts_at": (utcnow() + timedelta(hours=2)).isoformat(),
            "ends_at": (utcnow() + timedelta(hours=4)).isoformat(),
            "lat": 39.9163,
            "lng": 116.4039,
        },
        prepare=order_at(*ACCEPTED),
    ),
    # Kept on the timeline, not echoed.
    ("POST", "/api/v1/demands/{demand_id}/confirm"): Case(
        LOOP,
        role="member",
        shown={"note": None},
        prepare=order_at(
            *ACCEPTED,
            ("root", "assign", {"owner": "staff"}),
            ("root", "resolve", {"resolution": "已送到"}),
        ),
    ),
    ("POST", "/api/v1/participations/{participation_id}/rating"): Case(
        {"participation_id": "rated_work"},
        role="resident",
        body=lambda _: {"score": 5},
        prepare=work_reaching_a_resident,
    ),
    ("POST", "/api/v1/participation-ratings/{rating_id}/review"): Case(
        {"rating_id": "low_rating"}, shown={"note": "review_note"}, prepare=low_rating
    ),
    ("POST", "/api/v1/demands/{demand_id}/publish"): Case(
        LOOP, shown={"summary": "public_summary"}, prepare=demand_at(*VERIFIED)
    ),
    ("POST", "/api/v1/stations"): Case(
        body=lambda w: {"org_id": w.ids["community_A"], "lat": 39.9, "lng": 116.4},
    ),
    ("PATCH", "/api/v1/stations/{station_id}"): Case({"station_id": "station_B"}),
    ("POST", "/api/v1/stations/{station_id}/items"): Case(
        {"station_id": "station_A"},
        body=lambda _: {"price": 5, "currency": "xingfubi"},
    ),
    ("PATCH", "/api/v1/items/{item_id}"): Case({"item_id": "item_B"}),
    ("POST", "/api/v1/items/{item_id}/stock"): Case(
        {"item_id": "item_A"}, body=lambda _: {"delta": 1}
    ),
}


def shown_at(answer: Any, key: str) -> Any:
    for part in key.split("."):
        answer = answer.get(part) if isinstance(answer, dict) else None
    return answer


def stored_anywhere(app: Flask, value: str) -> bool:
    """Whether some row holds ``value`` in a text column, or in a JSON one (the audit
    log's), where it is kept as json.dumps writes it."""
    escaped = json.dumps(value)[1:-1]
    with app.app_context():
        session = extensions.session()
        try:
            for table in Base.metadata.sorted_tables:
                wanted = [
                    c.contains(value, autoescape=True)
                    for c in table.columns
                    if isinstance(c.type, String)
                ] + [
                    cast(c, Text).contains(escaped, autoescape=True)
                    for c in table.columns
                    if isinstance(c.type, JSON)
                ]
                if not wanted:
                    continue
                query = select(1).select_from(table).where(or_(*wanted)).limit(1)
                if session.execute(query).first():
                    return True
            return False
        finally:
            session.rollback()


def test_cjk_emoji_and_line_breaks_are_taken_and_read_back_unchanged(
    app: Flask, client: FlaskClient, world: World, spec: dict[str, Any], caplog: Any
) -> None:
    free: dict[tuple[str, str], list[TextField]] = {}
    for field in text_fields(spec):
        if field.free:
            free.setdefault((field.method, field.path), []).append(field)
    assert set(free) == set(CASES), (
        f"no case for {sorted(set(free) - set(CASES))}; stale {sorted(set(CASES) - set(free))}"
    )
    numbers, wrong, looked_for = count(1), [], []
    for key, fields in free.items():
        case = CASES[key]
        sent = {
            field.at: f"{LINE if field.prop['x-text'] == 'line' else MULTILINE} {next(numbers)}"
            for field in fields
        }
        if case.prepare is not None:
            case.prepare(app, client, world, next(iter(sent.values())))
        path = key[1].format(**{name: world.ids[kept] for name, kept in case.objects.items()})
        arguments = request_for(spec, fields[0], sent, path=path, body=case.body(world))
        headers = {"Authorization": f"Bearer {world.tokens[case.role]}"}
        response = client.open(method=key[0], headers=headers, **arguments)
        answer = response.get_json(silent=True)
        if response.status_code >= 300:
            wrong.append((key, response.status_code, answer))
            continue
        for at, value in sent.items():
            name = str(at[-1])
            where = (case.shown or {}).get(name, name)
            if where is not None and shown_at(answer, where) != value:
                wrong.append((key, name, "shown as", shown_at(answer, where)))
            if case.stored:
                looked_for.append((key, name, value))
    assert not wrong, wrong[:5]
    assert not [(k, n) for k, n, value in looked_for if not stored_anywhere(app, value)]
    assert len(looked_for) >= 40
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (" 幸福社区\u3000", "幸福社区"),
        ("Jose\u0301 之家\n", "José 之家"),
    ],
)
def test_a_name_is_stored_trimmed_and_nfc(
    client: FlaskClient, world: World, sent: str, stored: str
) -> None:
    made = send(
        client,
        world,
        "POST",
        "/api/v1/places",
        json={"parent_id": world.ids["street"], "name": sent, "level": "community"},
    )
    assert made.status_code == 201, made.get_json()
    again = send(client, world, "GET", f"/api/v1/places/{made.get_json()['id']}")
    assert again.get_json()["name"] == stored


def test_a_windows_line_break_in_a_description_is_stored_as_a_line_break(
    client: FlaskClient, world: World
) -> None:
    task = {**task_body(world), "title": "送菜上门", "description": "第一行\r\n第二行"}
    made = send(client, world, "POST", "/api/v1/tasks", json=task)
    assert made.status_code == 201, made.get_json()
    again = send(client, world, "GET", f"/api/v1/tasks/{made.get_json()['id']}")
    assert again.get_json()["description"] == "第一行\n第二行"


def test_a_token_is_taken_exactly_as_sent(client: FlaskClient) -> None:
    # Not trimmed into a valid one: a refresh token with a space is no refresh token.
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": " abc "})
    assert response.status_code == 401
