"""Acting for someone (代办) over HTTP: staff put a resident with no smartphone on the
register, link a proxy on the resident's recorded consent, and the proxy redeems for
them, prints the pickup slip, files a demand and confirms a delivery; the clerk hands
the goods over against the code on paper, once; and both histories show who acted
and for whom."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from api import extensions
from points.access import Role, ScopeType
from points.proxies import ProxyDeed
from service.db import utcnow
from service.housekeeping.photos import _not_in_use
from service.ledger.verify import verify
from service.people.models import RoleGrant, User
from tests.api.community_helpers import publish_starter_rules
from tests.api.test_approvals import done_and_submitted
from tests.api.test_demand_loop import act, ok, shown, signed_in, user_id
from tests.api.test_orders import approve, order, order_task, staff_of_b
from tests.api.test_uploads import uploaded
from tests.api.world import World
from tests.ledger_helpers import credit

CONSENT = {"method": "signed_form", "note": "本人按手印同意，社区存档"}


def register_elder(client: FlaskClient, world: World, name: str = "王奶奶") -> int:
    path = f"/households/{world.ids['household_A']}/offline-residents"
    made = world.call(client, "staff", "POST", path, {"name": name, "phone": "139 0000 1111"})
    assert made.status_code == 201, made.get_json()
    return int(made.get_json()["id"])


def link(
    client: FlaskClient, world: World, elder: int, proxy_role: str = "member", **more: Any
) -> Any:
    body = {"proxy_id": user_id(world, proxy_role), "consent": CONSENT, **more}
    return world.call(client, "staff", "POST", f"/people/{elder}/proxies", body)


def redeem_for(client: FlaskClient, world: World, role: str, elder: int, quantity: int = 2) -> Any:
    body = {"item_id": world.ids["item_A"], "quantity": quantity, "for_user_id": elder}
    return world.call(client, role, "POST", "/redemptions", body)


def pick_up(client: FlaskClient, world: World, code: str) -> Any:
    path = f"/stations/{world.ids['station_A']}/pickups"
    return world.call(client, "clerk", "POST", path, {"pickup_code": code})


@pytest.fixture
def elder(app: Flask, client: FlaskClient, world: World) -> int:
    """王奶奶, with no phone of her own, on the register with 30 幸福币."""
    elder = register_elder(client, world)
    with app.app_context():
        credit(extensions.session(), elder, "xingfubi", 30)
    return elder


def test_a_resident_with_no_phone_is_served_end_to_end(
    app: Flask, client: FlaskClient, world: World, elder: int
) -> None:
    # On the register: living in the household, a resident of its grid, no WeChat.
    residents = world.call(
        client, "staff", "GET", f"/households/{world.ids['household_A']}/residents"
    ).get_json()
    assert [r["name"] for r in residents] == ["王奶奶"]
    with app.app_context():
        person = extensions.session().get(User, elder)
        assert person is not None
        assert (person.openid, person.phone_masked) == (None, "139****1111")
        assert [(g.role, g.scope_id) for g in person.grants] == [("resident", world.ids["grid_A"])]

    linked = link(client, world, elder, relation="联户党员")
    assert linked.status_code == 201, linked.get_json()
    proxy_link = linked.get_json()
    assert proxy_link["status"] == "active"
    assert proxy_link["consent"]["method"] == "signed_form"
    assert (proxy_link["subject_name"], proxy_link["proxy_name"]) == ("王奶奶", "member")

    member_before = world.call(client, "member", "GET", "/me/accounts").get_json()
    held = redeem_for(client, world, "member", elder)
    assert held.status_code == 201, held.get_json()
    redemption = held.get_json()
    assert (redemption["user_id"], redemption["acted_by_id"]) == (
        elder,
        user_id(world, "member"),
    )
    # Her points paid; the proxy's are as they were.
    assert world.call(client, "member", "GET", "/me/accounts").get_json() == member_before
    accounts = world.call(client, "staff", "GET", f"/users/{elder}/accounts").get_json()
    xingfubi = next(a for a in accounts["items"] if a["currency"] == "xingfubi")
    assert (xingfubi["balance"], xingfubi["available"]) == (30, 20)

    slip = world.call(client, "member", "GET", f"/redemptions/{redemption['id']}/slip")
    assert slip.status_code == 200
    assert slip.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(slip.data)).pages)
    assert " ".join(redemption["pickup_code"]) in text
    for words in ("洗衣液", "小蜜蜂驿站A", "王奶奶", "代办人：member"):
        assert words in text, words

    assert pick_up(client, world, redemption["pickup_code"]).status_code == 200
    again = pick_up(client, world, redemption["pickup_code"])
    assert (again.status_code, again.get_json()["code"]) == (409, "pickup_code_used")
    late = world.call(client, "member", "GET", f"/redemptions/{redemption['id']}/slip")
    assert (late.status_code, late.get_json()["code"]) == (409, "redemption_not_held")

    # Her history names the proxy; the proxy's names her.
    transfers = world.call(client, "staff", "GET", f"/users/{elder}/transfers").get_json()
    hold = next(t for t in transfers["items"] if t["kind"] == "redeem_hold")
    assert (hold["actor_id"], hold["actor_name"]) == (user_id(world, "member"), "member")
    assert hold["explanation"].startswith("由 member 代办")
    acts = world.call(client, "member", "GET", "/me/proxy-acts").get_json()["items"]
    assert [(a["deed"], a["subject_name"], a["actor_name"], a["object_id"]) for a in acts] == [
        (ProxyDeed.REDEEM.value, "王奶奶", "member", redemption["id"])
    ]
    mine = world.call(client, "member", "GET", "/me/redemptions").get_json()["items"]
    assert [(r["id"], r["status"], r["user_id"]) for r in mine] == [
        (redemption["id"], "fulfilled", elder)
    ]
    links = world.call(client, "member", "GET", "/me/proxy-links").get_json()
    assert [(li["subject_id"], li["status"]) for li in links] == [(elder, "active")]
    with app.app_context():
        session = extensions.session()
        session.commit()
        assert verify(session).clean


def test_without_a_running_link_acting_for_someone_is_refused(
    client: FlaskClient, world: World, elder: int
) -> None:
    refused = redeem_for(client, world, "member", elder)
    assert (refused.status_code, refused.get_json()["code"]) == (403, "not_proxy")
    # Nobody at all, or someone else's proxy: the same answer.
    nobody = redeem_for(client, world, "member", 999_999)
    assert (nobody.status_code, nobody.get_json()["code"]) == (403, "not_proxy")
    demand = {
        "category": "service",
        "description": "帮忙换灯泡",
        "org_id": world.ids["grid_A"],
        "for_user_id": elder,
    }
    filed = world.call(client, "member", "POST", "/demands", demand)
    assert (filed.status_code, filed.get_json()["code"]) == (403, "not_proxy")

    proxy_link = link(client, world, elder).get_json()
    assert redeem_for(client, world, "volunteer", elder).status_code == 403
    ended = world.call(client, "staff", "POST", f"/proxy-links/{proxy_link['id']}/end", {})
    assert ended.status_code == 200, ended.get_json()
    assert ended.get_json()["status"] == "ended"
    after = redeem_for(client, world, "member", elder)
    assert (after.status_code, after.get_json()["code"]) == (403, "not_proxy")
    twice = world.call(client, "staff", "POST", f"/proxy-links/{proxy_link['id']}/end", {})
    assert (twice.status_code, twice.get_json()["code"]) == (409, "invalid_transition")


def test_a_link_not_yet_started_or_already_over_lets_nobody_act(
    client: FlaskClient, world: World, elder: int
) -> None:
    tomorrow = utcnow() + timedelta(days=1)
    assert link(client, world, elder, starts_at=tomorrow.isoformat()).status_code == 201
    refused = redeem_for(client, world, "member", elder)
    assert (refused.status_code, refused.get_json()["code"]) == (403, "not_proxy")
    over = {
        "starts_at": (utcnow() - timedelta(days=2)).isoformat(),
        "ends_at": utcnow().isoformat(),
    }
    assert link(client, world, elder, "volunteer", **over).status_code == 201
    late = redeem_for(client, world, "volunteer", elder)
    assert (late.status_code, late.get_json()["code"]) == (403, "not_proxy")


def test_linking_needs_consent_and_a_sane_span(
    client: FlaskClient, world: World, elder: int
) -> None:
    body = {"proxy_id": user_id(world, "member")}
    missing = world.call(client, "staff", "POST", f"/people/{elder}/proxies", body)
    assert missing.status_code == 422
    assert "consent" in missing.get_json()["errors"]
    odd = {**body, "consent": {"method": "nodded"}}
    bad = world.call(client, "staff", "POST", f"/people/{elder}/proxies", odd)
    assert bad.status_code == 422
    backwards = link(
        client,
        world,
        elder,
        starts_at="2026-05-02T00:00:00+08:00",
        ends_at="2026-05-01T00:00:00+08:00",
    )
    assert (backwards.status_code, backwards.get_json()["code"]) == (422, "invalid_input")
    herself = world.call(
        client,
        "staff",
        "POST",
        f"/people/{elder}/proxies",
        {"proxy_id": elder, "consent": CONSENT},
    )
    assert herself.status_code == 422
    # Whoever records the consent witnesses it: they are not the one it lets act.
    staff_self = world.call(
        client,
        "staff",
        "POST",
        f"/people/{elder}/proxies",
        {"proxy_id": user_id(world, "staff"), "consent": CONSENT},
    )
    assert (staff_self.status_code, staff_self.get_json()["code"]) == (403, "self_approval")
    later = (utcnow() + timedelta(days=1)).isoformat()
    future = link(client, world, elder, consent={**CONSENT, "given_at": later})
    assert future.status_code == 422
    assert future.get_json()["errors"] == {"consent": {"given_at": ["in the future"]}}
    assert link(client, world, elder).status_code == 201
    twice = link(client, world, elder)
    assert (twice.status_code, twice.get_json()["code"]) == (409, "already_proxy")
    listed = world.call(client, "staff", "GET", f"/people/{elder}/proxies").get_json()
    assert [li["proxy_id"] for li in listed] == [user_id(world, "member")]


def test_another_communitys_staff_find_nothing(
    app: Flask, client: FlaskClient, world: World, elder: int
) -> None:
    staff_of_b(app, world)
    proxy_link = link(client, world, elder).get_json()
    held = redeem_for(client, world, "member", elder).get_json()
    for method, path, body in (
        ("GET", f"/people/{elder}/proxies", None),
        (
            "POST",
            f"/people/{elder}/proxies",
            {"proxy_id": user_id(world, "member"), "consent": CONSENT},
        ),
        ("POST", f"/proxy-links/{proxy_link['id']}/end", {}),
        ("GET", f"/redemptions/{held['id']}/slip", None),
        ("POST", f"/households/{world.ids['household_A']}/offline-residents", {"name": "张三"}),
    ):
        response = world.call(client, "staff_B", method, path, body)
        assert response.status_code == 404, (path, response.get_json())
    # Someone who merely serves nearby finds no slip of hers, and may not keep her links.
    slip = world.call(client, "volunteer", "GET", f"/redemptions/{held['id']}/slip")
    assert slip.status_code == 404
    listed = world.call(client, "volunteer", "GET", f"/people/{elder}/proxies")
    assert (listed.status_code, listed.get_json()["code"]) == (403, "forbidden")


def test_a_second_resident_with_the_same_phone_is_refused(
    client: FlaskClient, world: World, elder: int
) -> None:
    path = f"/households/{world.ids['household_A']}/offline-residents"
    again = world.call(client, "staff", "POST", path, {"name": "王爷爷", "phone": "13900001111"})
    assert (again.status_code, again.get_json()["code"]) == (409, "phone_taken")
    blank = world.call(client, "staff", "POST", path, {"name": "  "})
    assert blank.status_code == 422
    no_phone = world.call(client, "staff", "POST", path, {"name": "李爷爷"})
    assert no_phone.status_code == 201
    assert no_phone.get_json()["phone_masked"] is None


def test_the_proxy_files_a_demand_and_an_order_for_her(
    client: FlaskClient, world: World, elder: int
) -> None:
    link(client, world, elder)
    body = {
        "category": "facility",
        "description": "楼道灯坏了，老人晚上看不见",
        "org_id": world.ids["grid_A"],
        "for_user_id": elder,
    }
    filed = world.call(client, "member", "POST", "/demands", body)
    assert filed.status_code == 201, filed.get_json()
    demand = filed.get_json()
    assert (demand["served_user_id"], demand["proxy"], demand["reporter_id"]) == (
        elder,
        True,
        user_id(world, "member"),
    )
    step = shown(client, world, "member", demand["id"])["timeline"][0]
    assert step["actor_id"] == user_id(world, "member")
    assert step["details"]["for_user_id"] == elder
    assert step["details"]["by_line"] == "由 member 代办"

    ordered = order(client, world, for_user_id=elder)
    assert ordered.status_code == 201, ordered.get_json()
    assert (ordered.get_json()["served_user_id"], ordered.get_json()["proxy"]) == (elder, True)
    acts = world.call(client, "member", "GET", "/me/proxy-acts").get_json()["items"]
    assert [a["deed"] for a in acts] == ["demand", "demand"]


def test_a_family_proxy_confirms_the_delivery_someone_else_ordered(
    app: Flask, client: FlaskClient, world: World, elder: int
) -> None:
    daughter = User(name="王奶奶的女儿", openid="family-1", residence_place_id=world.ids["grid_A"])
    daughter.grants.append(
        RoleGrant(
            role=Role.RESIDENT.value, scope_type=ScopeType.PLACE.value, scope_id=world.ids["grid_A"]
        )
    )
    signed_in(app, world, "daughter", daughter)
    publish_starter_rules(app, world)
    demand = order(client, world, resident_id=elder).get_json()["id"]
    ok(act(client, world, "staff", demand, "accept"))
    task = order_task(client, world, demand).get_json()["id"]
    participation = done_and_submitted(client, world, task, role="volunteer", units=1)
    assert approve(client, world, participation) == 200

    # Living in the grid, she sees it is there; until linked, it is not hers to touch.
    refused = act(client, world, "daughter", demand, "confirm")
    assert (refused.status_code, refused.get_json()["code"]) == (403, "forbidden")
    unseen = world.call(client, "daughter", "GET", f"/demands/{demand}")
    assert (unseen.status_code, unseen.get_json()["code"]) == (403, "forbidden")
    body = {"proxy_id": user_id(world, "daughter"), "consent": {"method": "in_person"}}
    made = world.call(client, "staff", "POST", f"/people/{elder}/proxies", body)
    assert made.status_code == 201, made.get_json()
    confirmed = act(client, world, "daughter", demand, "confirm", note="妈妈说收到了")
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["status"] == "closed"
    # She reads it as the one it served, though the member filed it.
    step = shown(client, world, "daughter", demand)["timeline"][-1]
    assert (step["action"], step["actor_name"]) == ("confirm", "王奶奶的女儿")
    assert step["details"]["on_behalf"] is True
    assert step["details"]["for_user_id"] == elder
    acts = world.call(client, "daughter", "GET", "/me/proxy-acts").get_json()["items"]
    assert [(a["deed"], a["object_id"]) for a in acts] == [("confirm", demand)]


def test_the_proxy_cancels_for_her_and_her_history_is_read_for_her(
    app: Flask, client: FlaskClient, world: World, elder: int
) -> None:
    link(client, world, elder)
    held = redeem_for(client, world, "member", elder).get_json()
    path = f"/redemptions/{held['id']}/cancel"
    stranger = world.call(client, "volunteer", "POST", path)
    assert (stranger.status_code, stranger.get_json()["code"]) == (404, "not_found")
    cancelled = world.call(client, "member", "POST", path)
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["status"] == "cancelled"
    accounts = world.call(client, "staff", "GET", f"/users/{elder}/accounts").get_json()
    xingfubi = next(a for a in accounts["items"] if a["currency"] == "xingfubi")
    assert (xingfubi["balance"], xingfubi["available"]) == (30, 30)

    # She has no phone to look with: staff who look after her, and her proxy, read it.
    for role in ("staff", "member"):
        acts = world.call(client, role, "GET", f"/people/{elder}/proxy-acts").get_json()
        assert [(a["deed"], a["actor_name"], a["subject_id"]) for a in acts["items"]] == [
            ("cancel", "member", elder),
            ("redeem", "member", elder),
        ], role
    staff_of_b(app, world)
    for role, refused in (("staff_B", (404, "not_found")), ("volunteer", (403, "forbidden"))):
        response = world.call(client, role, "GET", f"/people/{elder}/proxy-acts")
        assert (response.status_code, response.get_json()["code"]) == refused, role


def test_a_photo_of_the_signed_form_is_kept_with_the_consent(
    app: Flask, client: FlaskClient, world: World, elder: int
) -> None:
    someone_elses = uploaded(client, world, "member")
    theirs = link(client, world, elder, consent={**CONSENT, "upload_id": someone_elses})
    assert (theirs.status_code, theirs.get_json()["code"]) == (422, "invalid_input")
    form = uploaded(client, world, "staff")
    made = link(client, world, elder, consent={**CONSENT, "upload_id": form})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["consent"]["upload_id"] == form
    # The nightly prune keeps it: the link names it.
    with app.app_context():
        kept = _not_in_use(extensions.session(), utcnow() + timedelta(days=365))
    assert form not in kept
    assert someone_elses in kept


def test_a_proxy_whose_link_ended_holds_no_pickup_code_of_hers(
    client: FlaskClient, world: World, elder: int
) -> None:
    made = link(client, world, elder).get_json()
    held = redeem_for(client, world, "member", elder).get_json()
    listed = world.call(client, "member", "GET", "/me/redemptions").get_json()["items"]
    assert [(r["id"], r["status"]) for r in listed] == [(held["id"], "held")]
    ended = world.call(
        client, "staff", "POST", f"/proxy-links/{made['id']}/end", {"reason": "女儿回来照顾了"}
    )
    assert ended.status_code == 200, ended.get_json()
    # The hold is still hers, but no longer on the former proxy's list with its code.
    assert world.call(client, "member", "GET", "/me/redemptions").get_json()["items"] == []
