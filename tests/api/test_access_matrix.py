"""Who gets what, for every route: generated from the app's route table.

The world: a street with communities A and B, each with a grid, a person, a branch
and a pairing. One user per role, all in community A (and an admin of the whole
street). Every authenticated route is called by every role on A's objects and on
B's. A route missing from ROUTES fails the test, so no route ships without its
access rule written down.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.authentication import is_public
from points.calendar import local_date
from points.rules import starter_rule_set
from service.db import utcnow
from tests.api.world import (
    ROLES,
    SIDES,
    World,
    build_world,
    certificate_number,
    demo_series,
    demo_task,
)
from tests.conftest import empty_tables


def days_from_today(days: int) -> str:
    """A local date relative to the clock: the matrix must hold on any day it runs."""
    return (local_date(utcnow()) + timedelta(days=days)).isoformat()


# A 1×1 PNG: a photo anyone signed in may upload.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753"
    "de0000000c49444154789c63606060000000040001f61738550000000049454e44ae426082"
)
Request = Callable[[World, str], tuple[tuple[int | str, ...], dict[str, Any] | None]]
EVERYONE = dict.fromkeys(ROLES, 200)


@dataclass(frozen=True)
class Route:
    request: Request
    on_a: dict[str, int]  # role → status on community A's object
    on_b: dict[str, int]  # role → status on community B's object
    multipart: bool = False  # the body is a form with a file


def scoped(
    ok: int, *, a: dict[str, int], b_ok: tuple[str, ...] = ("root",)
) -> tuple[dict[str, int], dict[str, int]]:
    on_a = {role: a.get(role, ok if role in ("admin", "root") else 404) for role in ROLES}
    on_b = {role: ok if role in b_ok else 404 for role in ROLES}
    return on_a, on_b


def route(request: Request, statuses: tuple[dict[str, int], dict[str, int]]) -> Route:
    return Route(request, *statuses)


def same(status_by_role: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    return status_by_role, status_by_role


APPROVERS = {r: 200 if r in ("staff", "admin", "root") else 403 for r in ROLES}
IN_GRID_A = {"member": 403, "volunteer": 403, "resident": 403}
APPROVERS_ONLY = ("staff", "admin", "root")
HANDLERS = {**APPROVERS, "dept_officer": 200}
AT_STATION_A = {"clerk": 403}  # the clerk's grant covers station A, not its catalogue
ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/v1/me"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("PATCH", "/api/v1/me"): route(lambda w, s: ((), {"name": "新名字"}), same(EVERYONE)),
    ("POST", "/api/v1/me/phone"): route(lambda w, s: ((), {"code": "13800001234"}), same(EVERYONE)),
    ("GET", "/api/v1/me/accounts"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/me/transfers"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/me/expiring"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/me/service-records"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/me/achievements"): route(lambda w, s: ((), None), same(EVERYONE)),
    # Everyone calling lives in community A: its people's cards are theirs to see, B's
    # only for those whose grants cover B.
    ("GET", "/api/v1/users/<int:user_id>/card"): route(
        lambda w, s: ((w.side(s, "person"),), None), scoped(200, a=EVERYONE)
    ),
    # Anyone signed in may ask for their own; nobody calling has approved work to certify.
    ("POST", "/api/v1/me/certificates"): route(
        lambda w, s: ((), {"from": "2026-01-01", "to": "2026-03-31"}),
        same(dict.fromkeys(ROLES, 422)),
    ),
    # The person's own, or staff of the community that issued it; for others it isn't there.
    ("GET", "/api/v1/certificates/<string:number>.pdf"): route(
        lambda w, s: ((certificate_number(s),), None), scoped(200, a={"staff": 200})
    ),
    ("POST", "/api/v1/auth/logout"): route(
        lambda w, s: ((), None), same(dict.fromkeys(ROLES, 204))
    ),
    ("GET", "/api/v1/places"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/places/<int:place_id>"): route(
        lambda w, s: ((w.side(s, "grid"),), None), same(EVERYONE)
    ),
    ("POST", "/api/v1/places"): route(
        lambda w, s: ((), {"parent_id": w.side(s, "community"), "name": "新网格", "level": "grid"}),
        scoped(201, a={"staff": 403}),
    ),
    ("PATCH", "/api/v1/places/<int:place_id>"): route(
        lambda w, s: ((w.side(s, "grid"),), {"name": "改名网格"}),
        scoped(200, a={"staff": 403, **IN_GRID_A}),
    ),
    ("GET", "/api/v1/departments"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("POST", "/api/v1/departments"): route(
        lambda w, s: ((), {"name": "区卫健委"}),
        same({r: 201 if r == "root" else 404 for r in ROLES}),
    ),
    ("PATCH", "/api/v1/departments/<int:department_id>"): route(
        lambda w, s: ((w.ids["department"],), {"name": "区民政局（新）"}),
        same({r: 200 if r == "root" else 404 for r in ROLES}),
    ),
    ("GET", "/api/v1/branches"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("POST", "/api/v1/branches"): route(
        lambda w, s: ((), {"name": "第二支部", "place_id": w.side(s, "community")}),
        scoped(201, a={"staff": 403}),
    ),
    ("GET", "/api/v1/pairings"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("POST", "/api/v1/pairings"): route(
        lambda w, s: (
            (),
            {
                "department_id": w.ids["department"],
                "place_id": w.side(s, "community"),
                "started_on": days_from_today(30),
            },
        ),
        scoped(201, a={"staff": 403}),
    ),
    ("POST", "/api/v1/pairings/<int:pairing_id>/end"): route(
        lambda w, s: ((w.side(s, "pairing"),), {"ended_on": days_from_today(1)}),
        scoped(200, a={"staff": 403}),
    ),
    ("GET", "/api/v1/rule-sets"): route(
        lambda w, s: ((), {"org_id": w.side(s, "community")}),
        scoped(200, a={"staff": 200}),
    ),
    ("POST", "/api/v1/rule-sets"): route(
        lambda w, s: (
            (),
            {
                "org_id": w.side(s, "community"),
                "effective_from": days_from_today(30),
                "content": starter_rule_set(),
            },
        ),
        scoped(201, a={"staff": 403}),
    ),
    ("POST", "/api/v1/rule-sets/validate"): route(
        lambda w, s: ((), {"content": starter_rule_set()}), same(EVERYONE)
    ),
    ("GET", "/api/v1/rule-sets/<int:rule_set_id>"): route(
        lambda w, s: ((w.side(s, "rules"),), None), scoped(200, a={"staff": 200})
    ),
    ("PATCH", "/api/v1/rule-sets/<int:rule_set_id>"): route(
        lambda w, s: ((w.side(s, "rules"),), {"note": "改"}), scoped(200, a={"staff": 403})
    ),
    ("POST", "/api/v1/rule-sets/<int:rule_set_id>/publish"): route(
        lambda w, s: ((w.side(s, "rules"),), None), scoped(200, a={"staff": 403})
    ),
    ("POST", "/api/v1/rule-sets/<int:rule_set_id>/simulate"): route(
        lambda w, s: (
            (w.side(s, "rules"),),
            {"facts": {"event": "task_completed", "role": "member"}},
        ),
        scoped(200, a={"staff": 200}),
    ),
    ("GET", "/api/v1/rule-sets/<int:rule_set_id>/history"): route(
        lambda w, s: ((w.side(s, "rules"),), None), scoped(200, a={"staff": 200})
    ),
    ("GET", "/api/v1/users/<int:user_id>/accounts"): route(
        lambda w, s: ((w.side(s, "person"),), None), scoped(200, a={"staff": 200, **IN_GRID_A})
    ),
    ("GET", "/api/v1/users/<int:user_id>/transfers"): route(
        lambda w, s: ((w.side(s, "person"),), None), scoped(200, a={"staff": 200, **IN_GRID_A})
    ),
    ("POST", "/api/v1/users/<int:user_id>/adjustments"): route(
        lambda w, s: (
            (w.side(s, "person"),),
            {"kind": "award", "currency": "jifen", "amount": 5, "reason": "好人好事"},
        ),
        scoped(201, a={"staff": 201, **IN_GRID_A}),
    ),
    ("GET", "/api/v1/adjustments"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("POST", "/api/v1/adjustments/<int:adjustment_id>/confirm"): route(
        lambda w, s: ((w.side(s, "adjustment"),), None), scoped(200, a={"staff": 200, **IN_GRID_A})
    ),
    ("POST", "/api/v1/adjustments/<int:adjustment_id>/reject"): route(
        lambda w, s: ((w.side(s, "adjustment"),), {"reason": "没有依据"}),
        scoped(200, a={"staff": 200, **IN_GRID_A}),
    ),
    ("POST", "/api/v1/transfers/<int:transfer_id>/reverse"): route(
        lambda w, s: ((w.side(s, "earning"),), {"reason": "审核有误"}),
        scoped(200, a={"staff": 200, **IN_GRID_A}),
    ),
    ("POST", "/api/v1/award-imports"): Route(
        lambda w, s: (
            (),
            {
                "file": f"phone,amount,reason\n1390000000{SIDES.index(s)},5,好人好事\n".encode(),
                "filename": "awards.csv",
                "query": {"batch": "2026 表彰"},
            },
        ),
        *same({r: 200 if r in ("staff", "admin", "root") else 403 for r in ROLES}),
        multipart=True,
    ),
    # Rows outside the uploader's places are row errors (200), not a refused file.
    ("POST", "/api/v1/imports/<string:kind>"): Route(
        lambda w, s: (
            ("households",),
            {"file": f"网格,门牌\n网格{s},9栋901\n".encode(), "filename": "households.csv"},
        ),
        *same({r: 200 if r in ("staff", "admin", "root") else 403 for r in ROLES}),
        multipart=True,
    ),
    ("POST", "/api/v1/uploads"): Route(
        lambda w, s: ((), {"file": TINY_PNG, "filename": "photo.png"}),
        *same(dict.fromkeys(ROLES, 201)),
        multipart=True,
    ),
    ("GET", "/api/v1/tasks"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("POST", "/api/v1/tasks"): route(
        lambda w, s: ((), new_task_body(w.side(s, "community"))), scoped(201, a={"staff": 201})
    ),
    ("GET", "/api/v1/tasks/<int:task_id>"): route(
        lambda w, s: ((w.side(s, "published_task"),), None),
        (EVERYONE, {r: 200 if r == "root" else 404 for r in ROLES}),
    ),
    ("PATCH", "/api/v1/tasks/<int:task_id>"): route(
        lambda w, s: ((w.side(s, "published_task"),), {"version": 1, "title": "敲门行动（改）"}),
        scoped(200, a={"staff": 200}),
    ),
    ("GET", "/api/v1/tasks/<int:task_id>/changes"): route(
        lambda w, s: ((w.side(s, "published_task"),), None),
        (EVERYONE, {r: 200 if r == "root" else 404 for r in ROLES}),
    ),
    ("POST", "/api/v1/tasks/<int:task_id>/publish"): route(
        lambda w, s: ((w.side(s, "draft_task"),), None), scoped(200, a={"staff": 200})
    ),
    ("POST", "/api/v1/tasks/<int:task_id>/close"): route(
        lambda w, s: ((w.side(s, "published_task"),), None), scoped(200, a={"staff": 200})
    ),
    ("POST", "/api/v1/tasks/<int:task_id>/cancel"): route(
        lambda w, s: ((w.side(s, "published_task"),), {"reason": "暴雨预警"}),
        scoped(200, a={"staff": 200}),
    ),
    ("POST", "/api/v1/tasks/<int:task_id>/signups"): route(
        lambda w, s: ((w.side(s, "published_task"),), None),
        (
            {r: 201 if r in ("member", "volunteer") else 403 for r in ROLES},
            {r: 403 if r == "root" else 404 for r in ROLES},
        ),
    ),
    # The same people as signing up: with a place free, the waitlist signs them up.
    ("POST", "/api/v1/tasks/<int:task_id>/waitlist"): route(
        lambda w, s: ((w.side(s, "published_task"),), None),
        (
            {r: 201 if r in ("member", "volunteer") else 403 for r in ROLES},
            {r: 403 if r == "root" else 404 for r in ROLES},
        ),
    ),
    ("GET", "/api/v1/task-series"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("POST", "/api/v1/task-series"): route(
        lambda w, s: ((), new_series_body(w.side(s, "community"))),
        scoped(201, a={"staff": 201}),
    ),
    ("GET", "/api/v1/task-series/<int:series_id>"): route(
        lambda w, s: ((w.side(s, "series"),), None),
        (EVERYONE, {r: 200 if r == "root" else 404 for r in ROLES}),
    ),
    ("PATCH", "/api/v1/task-series/<int:series_id>"): route(
        lambda w, s: ((w.side(s, "series"),), {"version": 1, "title": "夜间巡逻（改）"}),
        scoped(200, a={"staff": 200}),
    ),
    ("POST", "/api/v1/task-series/<int:series_id>/end"): route(
        lambda w, s: ((w.side(s, "series"),), {"reason": "天气转冷"}),
        scoped(200, a={"staff": 200}),
    ),
    # As signing up for one task: members and volunteers where they see it.
    ("POST", "/api/v1/task-series/<int:series_id>/signups"): route(
        lambda w, s: ((w.side(s, "series"),), None),
        (
            {r: 201 if r in ("member", "volunteer") else 403 for r in ROLES},
            {r: 403 if r == "root" else 404 for r in ROLES},
        ),
    ),
    # Nobody in the world signed up for a series: leaving one is a 404 for all.
    ("DELETE", "/api/v1/task-series/<int:series_id>/signups"): route(
        lambda w, s: ((w.side(s, "series"),), None), same(dict.fromkeys(ROLES, 404))
    ),
    ("GET", "/api/v1/me/series-signups"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("POST", "/api/v1/participations/<int:participation_id>/cancel"): route(
        lambda w, s: ((w.side(s, "participation"),), None), same(dict.fromkeys(ROLES, 404))
    ),
    # One's own offered place only: the world's participation is someone else's.
    ("POST", "/api/v1/participations/<int:participation_id>/confirm"): route(
        lambda w, s: ((w.side(s, "participation"),), None), same(dict.fromkeys(ROLES, 404))
    ),
    ("GET", "/api/v1/me/participations"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/me/no-shows"): route(lambda w, s: ((), None), same(EVERYONE)),
    # The world's participation is submitted, no no-show: who gets past access meets 409.
    ("POST", "/api/v1/participations/<int:participation_id>/excuse"): route(
        lambda w, s: ((w.side(s, "participation"),), {"reason": "生病"}),
        scoped(409, a={"staff": 409}),
    ),
    ("GET", "/api/v1/tasks/<int:task_id>/participations"): route(
        lambda w, s: ((w.side(s, "published_task"),), None), scoped(200, a={"staff": 200})
    ),
    ("GET", "/api/v1/no-show-policies"): route(lambda w, s: ((), None), same(APPROVERS)),
    ("PUT", "/api/v1/no-show-policies"): route(
        lambda w, s: ((), {"org_id": w.side(s, "community"), "max_no_shows": 2, "window_days": 30}),
        scoped(200, a={"staff": 200}),
    ),
    # Nothing is kept in the world (tests/api/test_no_shows.py forgets one).
    ("DELETE", "/api/v1/no-show-policies/<int:policy_id>"): route(
        lambda w, s: ((1,), None), same(dict.fromkeys(ROLES, 404))
    ),
    ("POST", "/api/v1/participations/<int:participation_id>/submit"): route(
        lambda w, s: ((w.side(s, "participation"),), {"units": 1}), same(dict.fromkeys(ROLES, 404))
    ),
    ("GET", "/api/v1/approvals"): route(lambda w, s: ((), None), same(APPROVERS)),
    ("POST", "/api/v1/participations/<int:participation_id>/approve"): route(
        lambda w, s: ((w.side(s, "participation"),), None), scoped(200, a={"staff": 200})
    ),
    ("POST", "/api/v1/participations/<int:participation_id>/reject"): route(
        lambda w, s: ((w.side(s, "participation"),), {"reason": "照片不清楚"}),
        scoped(200, a={"staff": 200}),
    ),
    ("POST", "/api/v1/participations/<int:participation_id>/reverse"): route(
        lambda w, s: ((w.side(s, "participation"),), {"reason": "审核有误"}),
        # The world's participation is submitted, not approved: who gets past access
        # meets 409; everyone else 404.
        scoped(409, a={"staff": 409}),
    ),
    # 补录 by staff of the task's place: the world's task is next week, so who gets past
    # access meets 409 task_not_started; everyone else 404.
    ("POST", "/api/v1/tasks/<int:task_id>/manual-entries"): route(
        lambda w, s: (
            (w.side(s, "published_task"),),
            {"user_id": w.side(s, "person"), "hours": 1, "reason": "手机没电", "note": "见证"},
        ),
        scoped(409, a={"staff": 409}),
    ),
    ("POST", "/api/v1/approvals/bulk"): route(
        lambda w, s: ((), {"participation_ids": [w.side(s, "participation")]}), same(APPROVERS)
    ),
    ("GET", "/api/v1/tasks/<int:task_id>/checkin-code"): route(
        lambda w, s: ((w.side(s, "published_task"),), None), scoped(200, a={"staff": 200})
    ),
    ("POST", "/api/v1/participations/<int:participation_id>/checkin"): route(
        lambda w, s: (
            (w.side(s, "participation"),),
            {"lat": 39.9163, "lng": 116.4039, "accuracy": 10, "code": "000000"},
        ),
        same(dict.fromkeys(ROLES, 404)),
    ),
    ("POST", "/api/v1/participations/<int:participation_id>/checkout"): route(
        lambda w, s: ((w.side(s, "participation"),), {}), same(dict.fromkeys(ROLES, 404))
    ),
    ("GET", "/api/v1/households"): route(
        lambda w, s: ((), None),
        same({r: 200 if r in ("member", "volunteer", *APPROVERS_ONLY) else 403 for r in ROLES}),
    ),
    ("POST", "/api/v1/households"): route(
        lambda w, s: ((), {"org_id": w.side(s, "grid"), "label": "5栋1单元101"}),
        scoped(201, a={"staff": 201, **IN_GRID_A}),
    ),
    ("GET", "/api/v1/households/<int:household_id>"): route(
        lambda w, s: ((w.side(s, "household"),), None),
        scoped(200, a={"staff": 200, "member": 200, "volunteer": 200, "resident": 403}),
    ),
    # Who visited and what they wrote: for those who keep the register there.
    ("GET", "/api/v1/households/<int:household_id>/visits"): route(
        lambda w, s: ((w.side(s, "household"),), None),
        scoped(200, a={"staff": 200, **IN_GRID_A}),
    ),
    ("PATCH", "/api/v1/households/<int:household_id>"): route(
        lambda w, s: ((w.side(s, "household"),), {"needs": "独居老人，行动不便"}),
        scoped(200, a={"staff": 200, **IN_GRID_A}),
    ),
    ("GET", "/api/v1/household-visits"): route(lambda w, s: ((), None), same(APPROVERS)),
    ("POST", "/api/v1/household-visits"): route(
        lambda w, s: (
            (),
            {"household_id": w.side(s, "household"), "visited_at": utcnow().isoformat()},
        ),
        scoped(201, a={"member": 201, "volunteer": 201, "resident": 403, "staff": 403}),
    ),
    ("POST", "/api/v1/household-visits/<int:visit_id>/confirm"): route(
        lambda w, s: ((w.side(s, "visit"),), None), scoped(200, a={"staff": 200, **IN_GRID_A})
    ),
    ("POST", "/api/v1/household-visits/<int:visit_id>/reject"): route(
        lambda w, s: ((w.side(s, "visit"),), {"reason": "未见走访照片"}),
        scoped(200, a={"staff": 200, **IN_GRID_A}),
    ),
    ("GET", "/api/v1/me/household-visits"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("POST", "/api/v1/demands"): route(
        lambda w, s: (
            (),
            {"category": "safety", "description": "路灯不亮", "org_id": w.side(s, "grid")},
        ),
        # Everyone in the world lives in grid A; only the street's admin reaches B.
        scoped(201, a=dict.fromkeys(ROLES, 201)),
    ),
    # A department's officers list the demands whistled to it (none in the world).
    ("GET", "/api/v1/demands"): route(lambda w, s: ((), None), same(HANDLERS)),
    ("GET", "/api/v1/demands/overdue"): route(lambda w, s: ((), None), same(HANDLERS)),
    ("GET", "/api/v1/demands/<int:demand_id>"): route(
        lambda w, s: ((w.side(s, "demand"),), None), scoped(200, a={"staff": 200, **IN_GRID_A})
    ),
    ("POST", "/api/v1/demands/<int:demand_id>/accept"): route(
        lambda w, s: ((w.side(s, "demand"),), None), scoped(200, a={"staff": 200, **IN_GRID_A})
    ),
    ("POST", "/api/v1/demands/<int:demand_id>/decline"): route(
        lambda w, s: ((w.side(s, "demand"),), {"reason": "不属于社区职责"}),
        scoped(200, a={"staff": 200, **IN_GRID_A}),
    ),
    ("POST", "/api/v1/demands/<int:demand_id>/resolve"): route(
        lambda w, s: ((w.side(s, "demand"),), {"resolution": "已清理"}),
        # The world's demand is still submitted: past access, resolving it is 409.
        scoped(409, a={"staff": 409, **IN_GRID_A}),
    ),
    ("POST", "/api/v1/demands/<int:demand_id>/close"): route(
        lambda w, s: ((w.side(s, "demand"),), None), scoped(409, a={"staff": 409, **IN_GRID_A})
    ),
    # The world's demand is submitted: past access, the loop's later steps are 409.
    ("POST", "/api/v1/demands/<int:demand_id>/assign"): route(
        lambda w, s: ((w.side(s, "demand"),), {"owner": "staff"}),
        scoped(409, a={"staff": 409, **IN_GRID_A}),
    ),
    ("POST", "/api/v1/demands/<int:demand_id>/escalate"): route(
        lambda w, s: ((w.side(s, "demand"),), {"reason": "涉及多个网格"}),
        scoped(409, a={"staff": 409, **IN_GRID_A}),
    ),
    ("POST", "/api/v1/demands/<int:demand_id>/verify"): route(
        lambda w, s: ((w.side(s, "demand"),), None), scoped(409, a={"staff": 409, **IN_GRID_A})
    ),
    ("POST", "/api/v1/demands/<int:demand_id>/send-back"): route(
        lambda w, s: ((w.side(s, "demand"),), {"reason": "仍未处理"}),
        scoped(409, a={"staff": 409, **IN_GRID_A}),
    ),
    ("POST", "/api/v1/demands/<int:demand_id>/publish"): route(
        lambda w, s: ((w.side(s, "demand"),), {"summary": "已处理"}),
        scoped(409, a={"staff": 409, **IN_GRID_A}),
    ),
    # Only the one it is assigned to starts or hands it back; nobody has it yet.
    ("POST", "/api/v1/demands/<int:demand_id>/start"): route(
        lambda w, s: ((w.side(s, "demand"),), None), scoped(403, a={"staff": 403, **IN_GRID_A})
    ),
    ("POST", "/api/v1/demands/<int:demand_id>/return"): route(
        lambda w, s: ((w.side(s, "demand"),), {"reason": "不归我管"}),
        scoped(403, a={"staff": 403, **IN_GRID_A}),
    ),
    ("GET", "/api/v1/demand-lists/<any(problems, tasks, effects):which>"): route(
        lambda w, s: (("problems",), None), same(APPROVERS)
    ),
    # Merging into the other side's demand: only the street's admin sees both.
    ("POST", "/api/v1/demands/<int:demand_id>/merge"): route(
        lambda w, s: ((w.side(s, "demand"),), {"into": w.side("B" if s == "A" else "A", "demand")}),
        (
            {**dict.fromkeys(ROLES, 404), **IN_GRID_A, "root": 200},
            {**dict.fromkeys(ROLES, 404), "root": 200},
        ),
    ),
    # Only the resident who raised it rates it: handlers and neighbours are refused.
    ("POST", "/api/v1/demands/<int:demand_id>/rating"): route(
        lambda w, s: ((w.side(s, "demand"),), {"score": 5}),
        scoped(403, a={"staff": 403, **IN_GRID_A}),
    ),
    # A department's own officers, and admins of the whole organisation.
    ("GET", "/api/v1/departments/<int:department_id>/whistle-stats"): route(
        lambda w, s: ((w.ids["department"],), None),
        same({r: 200 if r in ("dept_officer", "root") else 404 for r in ROLES}),
    ),
    # 述统亮评 of a community: its staff and admins and the street's admin; nobody of
    # the other community (tests/api/test_reports.py: branches and departments).
    ("GET", "/api/v1/reports/summary"): route(
        lambda w, s: ((), {"scope": f"org:{w.side(s, 'community')}"}), scoped(200, a={"staff": 200})
    ),
    ("GET", "/api/v1/reports/league"): route(
        lambda w, s: ((), {"scope": f"org:{w.side(s, 'community')}"}), scoped(200, a={"staff": 200})
    ),
    # The deadlines hold for the whole organisation: the street's admin keeps them.
    ("GET", "/api/v1/demand-limits"): route(
        lambda w, s: ((), None), same({r: 200 if r == "root" else 404 for r in ROLES})
    ),
    ("PUT", "/api/v1/demand-limits"): route(
        lambda w, s: ((), {"stage": "accept", "amount": 2, "unit": "working_days"}),
        same({r: 200 if r == "root" else 404 for r in ROLES}),
    ),
    # Nothing is kept in the world, so the street's admin finds nothing to forget either
    # (tests/api/test_demand_loop.py forgets one).
    ("DELETE", "/api/v1/demand-limits/<int:limit_id>"): route(
        lambda w, s: ((1,), None), same(dict.fromkeys(ROLES, 404))
    ),
    ("GET", "/api/v1/me/demands"): route(lambda w, s: ((), None), same(EVERYONE)),
    # 点单 → 派单 needs an accepted order; the world's demand is a submitted problem.
    ("POST", "/api/v1/demands/<int:demand_id>/task"): route(
        lambda w, s: (
            (w.side(s, "demand"),),
            {
                "starts_at": (utcnow() + timedelta(hours=2)).isoformat(),
                "ends_at": (utcnow() + timedelta(hours=4)).isoformat(),
                "lat": 39.9,
                "lng": 116.4,
            },
        ),
        scoped(409, a={"staff": 409}),
    ),
    # Only the household served, or who ordered for it, confirms receipt.
    ("POST", "/api/v1/demands/<int:demand_id>/confirm"): route(
        lambda w, s: ((w.side(s, "demand"),), None), scoped(403, a={"staff": 403, **IN_GRID_A})
    ),
    ("GET", "/api/v1/demands/<int:demand_id>/departments"): route(
        lambda w, s: ((w.side(s, "demand"),), None), scoped(200, a={"staff": 200, **IN_GRID_A})
    ),
    ("GET", "/api/v1/households/<int:household_id>/residents"): route(
        lambda w, s: ((w.side(s, "household"),), None),
        scoped(200, a={"staff": 200, **IN_GRID_A}),
    ),
    ("POST", "/api/v1/households/<int:household_id>/residents"): route(
        lambda w, s: ((w.side(s, "household"),), {"user_id": w.side(s, "person")}),
        scoped(201, a={"staff": 201, **IN_GRID_A}),
    ),
    # Nobody is linked in the world: past access, there is no such resident
    # (tests/api/test_household_links.py removes one).
    ("DELETE", "/api/v1/households/<int:household_id>/residents/<int:user_id>"): route(
        lambda w, s: ((w.side(s, "household"), w.side(s, "person")), None),
        scoped(404, a={"staff": 404, **IN_GRID_A}),
    ),
    ("GET", "/api/v1/households/<int:household_id>/pairings"): route(
        lambda w, s: ((w.side(s, "household"),), None),
        scoped(200, a={"staff": 200, "member": 200, "volunteer": 200, "resident": 403}),
    ),
    ("POST", "/api/v1/households/<int:household_id>/pairings"): route(
        lambda w, s: ((w.side(s, "household"),), {"member_id": w.side(s, "person")}),
        scoped(201, a={"staff": 201, **IN_GRID_A}),
    ),
    # No pairing in the world (tests/api/test_household_links.py ends one across sides).
    ("POST", "/api/v1/household-pairings/<int:pairing_id>/end"): route(
        lambda w, s: ((1,), None), same(dict.fromkeys(ROLES, 404))
    ),
    ("GET", "/api/v1/me/paired-households"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/me/households"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/household-coverage"): route(
        lambda w, s: ((), {"org_id": w.side(s, "grid")}),
        scoped(200, a={"staff": 200, **IN_GRID_A}),
    ),
    # The world's work reached no household: nobody may rate it, nobody learns of it.
    ("POST", "/api/v1/participations/<int:participation_id>/rating"): route(
        lambda w, s: ((w.side(s, "participation"),), {"score": 5}), same(dict.fromkeys(ROLES, 404))
    ),
    ("GET", "/api/v1/participation-ratings"): route(lambda w, s: ((), None), same(APPROVERS)),
    ("POST", "/api/v1/participation-ratings/<int:rating_id>/review"): route(
        lambda w, s: ((1,), {"note": "已核实，服务属实"}), same(dict.fromkeys(ROLES, 404))
    ),
    ("GET", "/api/v1/me/rateable-work"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/me/certificates"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/users"): route(
        lambda w, s: ((), None),
        same({r: 200 if r in ("staff", "admin", "root") else 403 for r in ROLES}),
    ),
    ("GET", "/api/v1/users/<int:user_id>"): route(
        lambda w, s: ((w.side(s, "person"),), None),
        scoped(200, a={"staff": 200, **IN_GRID_A}),
    ),
    ("PATCH", "/api/v1/users/<int:user_id>"): route(
        lambda w, s: ((w.side(s, "person"),), {"name": "改名"}),
        scoped(200, a={"staff": 200, **IN_GRID_A}),
    ),
    ("POST", "/api/v1/users/<int:user_id>/grants"): route(
        lambda w, s: (
            (w.side(s, "person"),),
            {"role": "volunteer", "scope_type": "org", "scope_id": w.side(s, "grid")},
        ),
        scoped(201, a={"staff": 201, **IN_GRID_A}),
    ),
    ("DELETE", "/api/v1/users/<int:user_id>/grants/<int:grant_id>"): route(
        lambda w, s: ((w.side(s, "person"), w.side(s, "grant")), None),
        scoped(200, a={"staff": 200, **IN_GRID_A}),
    ),
    ("GET", "/api/v1/stations"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("POST", "/api/v1/stations"): route(
        lambda w, s: (
            (),
            {"org_id": w.side(s, "community"), "name": "爱心超市", "lat": 39.9, "lng": 116.4},
        ),
        scoped(201, a={"staff": 403}),
    ),
    ("GET", "/api/v1/stations/<int:station_id>"): route(
        lambda w, s: ((w.side(s, "station"),), None), same(EVERYONE)
    ),
    ("PATCH", "/api/v1/stations/<int:station_id>"): route(
        lambda w, s: ((w.side(s, "station"),), {"opening_hours": "9:00-17:00"}),
        scoped(200, a={"staff": 403, **AT_STATION_A}),
    ),
    ("GET", "/api/v1/stations/<int:station_id>/items"): route(
        lambda w, s: ((w.side(s, "station"),), None), same(EVERYONE)
    ),
    ("POST", "/api/v1/stations/<int:station_id>/items"): route(
        lambda w, s: (
            (w.side(s, "station"),),
            {"name": "大米", "price": 30, "currency": "xingfubi", "stock": 5},
        ),
        scoped(201, a={"staff": 201, **AT_STATION_A}),
    ),
    ("PATCH", "/api/v1/items/<int:item_id>"): route(
        lambda w, s: ((w.side(s, "item"),), {"price": 6}),
        scoped(200, a={"staff": 200, **AT_STATION_A}),
    ),
    ("GET", "/api/v1/items/<int:item_id>/stock"): route(
        lambda w, s: ((w.side(s, "item"),), None), scoped(200, a={"staff": 200, "clerk": 200})
    ),
    ("POST", "/api/v1/items/<int:item_id>/stock"): route(
        lambda w, s: ((w.side(s, "item"),), {"delta": 5, "reason": "到货"}),
        scoped(201, a={"staff": 201, "clerk": 201}),
    ),
    ("POST", "/api/v1/stations/<int:station_id>/pickups"): route(
        lambda w, s: ((w.side(s, "station"),), {"pickup_code": w.codes[s]}),
        scoped(200, a={"staff": 403, "clerk": 200}),
    ),
    ("GET", "/api/v1/stations/<int:station_id>/redemptions"): route(
        lambda w, s: ((w.side(s, "station"),), {"status": "held"}),
        scoped(200, a={"staff": 403, "clerk": 200}),
    ),
    ("GET", "/api/v1/stations/<int:station_id>/report"): route(
        lambda w, s: (
            (w.side(s, "station"),),
            {
                "from": days_from_today(-30) + "T00:00:00+08:00",
                "to": days_from_today(1) + "T00:00:00+08:00",
            },
        ),
        scoped(200, a={"staff": 200, "clerk": 200}),
    ),
    # Stations serve the whole street: anyone who lives or serves here may redeem at
    # either; the role users have no 幸福币, so those let through meet the ledger's 409.
    ("POST", "/api/v1/redemptions"): route(
        lambda w, s: ((), {"item_id": w.side(s, "item"), "quantity": 1}),
        same({r: 409 if r in ("member", "volunteer", "resident") else 403 for r in ROLES}),
    ),
    ("GET", "/api/v1/me/redemptions"): route(lambda w, s: ((), None), same(EVERYONE)),
    # 代办: staff keep who acts for whom in their scope; grid A's members see it is there.
    ("POST", "/api/v1/households/<int:household_id>/offline-residents"): route(
        lambda w, s: ((w.side(s, "household"),), {"name": "李奶奶"}),
        scoped(201, a={"staff": 201, **IN_GRID_A}),
    ),
    ("GET", "/api/v1/people/<int:user_id>/proxies"): route(
        lambda w, s: ((w.side(s, "person"),), None), scoped(200, a={"staff": 200, **IN_GRID_A})
    ),
    ("POST", "/api/v1/people/<int:user_id>/proxies"): route(
        lambda w, s: (
            (w.side(s, "person"),),
            {"proxy_id": w.side(s, "shopper"), "consent": {"method": "in_person"}},
        ),
        scoped(201, a={"staff": 201, **IN_GRID_A}),
    ),
    # No link in the world (tests/api/test_proxies.py ends one, and across sides).
    ("POST", "/api/v1/proxy-links/<int:link_id>/end"): route(
        lambda w, s: ((1,), None), same(dict.fromkeys(ROLES, 404))
    ),
    ("GET", "/api/v1/me/proxy-links"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/me/proxy-acts"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/people/<int:user_id>/proxy-acts"): route(
        lambda w, s: ((w.side(s, "person"),), None), scoped(200, a={"staff": 200, **IN_GRID_A})
    ),
    # The shopper's slip: theirs, their proxy's, or staff's who look after them.
    ("GET", "/api/v1/redemptions/<int:redemption_id>/slip"): route(
        lambda w, s: ((w.side(s, "redemption"),), None), scoped(200, a={"staff": 200})
    ),
    # Notifications are each caller's own: everyone signed in reads and sets theirs.
    ("GET", "/api/v1/me/notifications"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("GET", "/api/v1/me/notifications/unread-count"): route(
        lambda w, s: ((), None), same(EVERYONE)
    ),
    ("POST", "/api/v1/me/notifications/read"): route(
        lambda w, s: ((), {"all": True}), same(EVERYONE)
    ),
    ("GET", "/api/v1/me/notification-settings"): route(lambda w, s: ((), None), same(EVERYONE)),
    ("PATCH", "/api/v1/me/notification-settings"): route(
        lambda w, s: ((), {"wechat": {"task.starting": False}}), same(EVERYONE)
    ),
    # The suite's app has no templates configured: any template id is unknown (422),
    # whoever asks (tests/api/test_wechat_messages.py posts real ones).
    ("POST", "/api/v1/me/subscriptions"): route(
        lambda w, s: ((), {"results": {"tmpl-x": "accept"}}), same(dict.fromkeys(ROLES, 422))
    ),
    ("POST", "/api/v1/redemptions/<int:redemption_id>/cancel"): route(
        lambda w, s: ((w.side(s, "redemption"),), None), same(dict.fromkeys(ROLES, 404))
    ),
    # 内容安全: staff and admins of the place list held content and release it; the
    # world's held text is each side's demand (grid A's members see it is there: 403).
    ("GET", "/api/v1/content-reviews"): route(
        lambda w, s: ((), {"org_id": w.side(s, "community")}), scoped(200, a={"staff": 200})
    ),
    ("POST", "/api/v1/content-reviews/<int:review_id>/release"): route(
        lambda w, s: ((w.side(s, "review"),), None), scoped(200, a={"staff": 200, **IN_GRID_A})
    ),
    # The audit trail is the admins' of the place; staff there are refused.
    ("GET", "/api/v1/audit"): route(
        lambda w, s: ((), {"scope": f"org:{w.side(s, 'community')}"}),
        scoped(200, a={"staff": 403}),
    ),
    # A board is readable where one lives (and above), and in one's granted scopes.
    # Every role's user lives in grid A; only the street's admin reaches community B.
    ("GET", "/api/v1/leaderboards/<string:currency>"): route(
        lambda w, s: (("jifen",), {"scope": f"org:{w.side(s, 'community')}", "period": "month"}),
        scoped(200, a=EVERYONE),
    ),
}


def authenticated_routes(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if is_public(rule.endpoint) or not rule.rule.startswith("/api/v1/"):
            continue
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                found.add((method, rule.rule))
    return found


def test_every_authenticated_route_has_its_access_rule_written_down(app: Flask) -> None:
    assert authenticated_routes(app) == set(ROUTES)


def path_for(rule: str, params: tuple[int | str, ...]) -> str:
    values = iter(params)
    return re.sub(r"<[^>]+>", lambda _: str(next(values)), rule)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("key", sorted(ROUTES), ids=lambda k: f"{k[0]} {k[1]}")
def test_role_by_route(app: Flask, client: FlaskClient, key: tuple[str, str], side: str) -> None:
    world = build_world(app)
    method, rule = key
    case = ROUTES[key]
    params, body = case.request(world, side)
    expected = case.on_a if side == "A" else case.on_b
    outcomes = {}
    for role in ROLES:
        if method != "GET":
            world = rebuild(app)
            params, body = case.request(world, side)
        query = body if method == "GET" else None  # a GET's "body" is its query string
        form = None
        if case.multipart and body is not None:
            form = {"file": (io.BytesIO(body["file"]), body["filename"])}
            query = body.get("query")
        response = client.open(
            path_for(rule, params),
            method=method,
            json=None if query or form else body,
            data=form,
            query_string=query,
            headers={"Authorization": f"Bearer {world.tokens[role]}"},
        )
        outcomes[role] = response.status_code
        if response.status_code >= 400:
            assert response.get_json()["code"], response.get_json()
    assert outcomes == expected


def rebuild(app: Flask) -> World:
    """A write by one role must not decide the next role's answer: start again."""
    empty_tables(app)
    return build_world(app)


def new_series_body(place_id: int) -> dict[str, Any]:
    fields = demo_series(place_id)
    return {
        **{k: v for k, v in fields.items() if k not in ("place_id", "first_date", "start_time")},
        "org_id": place_id,
        "first_date": fields["first_date"].isoformat(),  # type: ignore[attr-defined]
        "start_time": "19:00",
    }


def new_task_body(place_id: int) -> dict[str, Any]:
    fields = demo_task(place_id)
    body = {k: v for k, v in fields.items() if k not in ("place_id", "starts_at", "ends_at")}
    return {
        **body,
        "org_id": place_id,
        "starts_at": fields["starts_at"].isoformat(),
        "ends_at": fields["ends_at"].isoformat(),
    }
