"""内容安全 through HTTP: residents' text and photos checked before others see them.

In fake WeChat mode (the session's app) text holding the configured test words is
refused or held; in live mode (an app pointed at the stub WeChat server) the stub's
msg_sec_check and media_check_async answer, and the stub pushes photo verdicts to
/api/v1/wechat/events, signed and, in 安全模式, encrypted.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from api import extensions
from api.cli import cli
from service.db import utcnow
from service.demands.models import Demand
from service.moderation.models import ContentReview
from service.people.models import User
from service.tasks.models import Participation
from tests.api.openapi_walk import rows_everywhere
from tests.api.test_demand_loop import act, ok, walk_to
from tests.api.test_households import add_household, log_visit
from tests.api.world import World
from tests.conftest import AppFactory
from tests.wechat_stub import MEDIA_CHECK, STABLE_TOKEN, TEXT_CHECK, WechatStub

RISKY = "违规测试词"  # Settings.content_risky_word
REVIEW = "人工复核测试词"  # Settings.content_review_word


def user_id(world: World, role: str) -> int:
    return int(jwt.decode(world.tokens[role], options={"verify_signature": False})["sub"])


def report(client: FlaskClient, world: World, description: str, **more: Any) -> TestResponse:
    body = {"category": "facility", "description": description, "org_id": world.ids["grid_A"]}
    return world.call(client, "resident", "POST", "/demands", {**body, **more})


def public_ids(client: FlaskClient, world: World) -> list[int]:
    listed = client.get(f"/api/v1/public/demands?org_id={world.ids['community_A']}")
    assert listed.status_code == 200
    return [item["id"] for item in listed.get_json()["items"]]


def held(app: Flask, subject: str) -> list[ContentReview]:
    """What is held of ``subject``, beside the world's own held text (review_A, _B)."""
    with app.app_context():
        session = extensions.session()
        rows = list(
            session.scalars(
                select(ContentReview).where(
                    ContentReview.subject == subject,
                    ContentReview.status == "held",
                    ContentReview.reason != "world",
                )
            )
        )
        for row in rows:
            session.expunge(row)
        session.rollback()
        return rows


def checked_out(app: Flask, world: World) -> int:
    with app.app_context():
        session = extensions.session()
        work = Participation(
            task_id=world.ids["published_task_A"],
            user_id=user_id(world, "member"),
            role="member",
            status="checked_out",
        )
        session.add(work)
        session.commit()
        return work.id


def refused(response: TestResponse, field: str) -> None:
    body = response.get_json()
    assert (response.status_code, body["code"]) == (422, "content_risky"), body
    assert field in body["errors"]


# --- text, in fake mode --------------------------------------------------------------


def test_risky_text_is_refused_everywhere_and_nothing_is_stored(
    app: Flask, client: FlaskClient, world: World
) -> None:
    work = checked_out(app, world)
    household = add_household(client, world, label="5栋1单元101")
    demand = report(client, world, "路灯不亮").get_json()["id"]
    walk_to(client, world, demand)
    before = rows_everywhere(app)

    refused(report(client, world, f"楼道里有{RISKY}"), "description")
    note = {"note": f"打扫了{RISKY}", "units": 3}
    refused(world.call(client, "member", "POST", f"/participations/{work}/submit", note), "note")
    rating = {"score": 5, "comment": f"很好{RISKY}"}
    refused(world.call(client, "resident", "POST", f"/demands/{demand}/rating", rating), "comment")
    refused(log_visit(client, world, household, note=f"聊天{RISKY}"), "note")

    assert rows_everywhere(app) == before
    with app.app_context():
        session = extensions.session()
        assert session.get(Participation, work).status == "checked_out"  # type: ignore[union-attr]
        assert session.get(Demand, demand).rating is None  # type: ignore[union-attr]
        session.rollback()


def test_a_held_demand_stays_off_the_public_list_until_staff_release_it(
    app: Flask, client: FlaskClient, world: World
) -> None:
    clean = report(client, world, "路灯不亮").get_json()["id"]
    made = report(client, world, f"楼道堆物，{REVIEW}")
    assert made.status_code == 201, made.get_json()
    demand = made.get_json()["id"]
    (review,) = [r for r in held(app, "demand") if r.subject_id == demand]
    assert (review.field, review.author_id) == ("description", user_id(world, "resident"))
    for each in (clean, demand):
        walk_to(client, world, each)
    assert public_ids(client, world) == [clean]

    waiting = world.call(client, "staff", "GET", f"/content-reviews?org_id={world.ids['grid_A']}")
    assert waiting.status_code == 200
    assert review.id in [item["id"] for item in waiting.get_json()["items"]]
    released = world.call(client, "staff", "POST", f"/content-reviews/{review.id}/release")
    assert released.status_code == 200, released.get_json()
    assert (released.get_json()["status"], released.get_json()["decided_by_id"]) == (
        "released",
        user_id(world, "staff"),
    )
    assert public_ids(client, world) == [demand, clean]
    again = world.call(client, "staff", "POST", f"/content-reviews/{review.id}/release")
    assert (again.status_code, again.get_json()["code"]) == (409, "content_not_held")


def test_held_text_of_the_other_four_kinds_waits_for_staff(
    app: Flask, client: FlaskClient, world: World
) -> None:
    work = checked_out(app, world)
    note = {"note": f"打扫楼道{REVIEW}", "units": 3}
    submitted = world.call(client, "member", "POST", f"/participations/{work}/submit", note)
    assert submitted.status_code == 200, submitted.get_json()
    household = add_household(client, world, label="5栋1单元101")
    assert log_visit(client, world, household, note=f"聊天{REVIEW}").status_code == 201
    demand = report(client, world, "路灯不亮").get_json()["id"]
    walk_to(client, world, demand)
    rating = {"score": 4, "comment": f"还行{REVIEW}"}
    assert world.call(client, "resident", "POST", f"/demands/{demand}/rating", rating).status_code
    assert [r.subject_id for r in held(app, "participation")] == [work]
    assert len(held(app, "visit")) == 1
    assert [r.subject_id for r in held(app, "rating")] == [demand]
    # A comment written again replaces what was held of it; a clean one is not held.
    rating = {"score": 5, "comment": "很及时"}
    assert world.call(client, "resident", "POST", f"/demands/{demand}/rating", rating).status_code
    assert held(app, "rating") == []


def test_only_staff_of_the_place_release_and_never_their_own(
    app: Flask, client: FlaskClient, world: World
) -> None:
    theirs = world.ids["review_B"]  # the world's held text in community B
    for role in ("staff", "admin"):
        other = world.call(client, role, "POST", f"/content-reviews/{theirs}/release")
        assert other.status_code == 404, other.get_json()
    listing = world.call(
        client, "staff", "GET", f"/content-reviews?org_id={world.ids['community_B']}"
    )
    assert listing.status_code == 404
    member = world.call(
        client, "member", "POST", f"/content-reviews/{world.ids['review_A']}/release"
    )
    assert member.status_code == 403
    made = world.call(
        client,
        "staff",
        "POST",
        "/demands",
        {"category": "facility", "description": REVIEW, "org_id": world.ids["grid_A"]},
    )
    assert made.status_code == 201
    (own,) = [r for r in held(app, "demand") if r.subject_id == made.get_json()["id"]]
    mine = world.call(client, "staff", "POST", f"/content-reviews/{own.id}/release")
    assert (mine.status_code, mine.get_json()["code"]) == (403, "self_approval")
    with app.app_context():
        session = extensions.session()
        statuses = session.scalars(
            select(ContentReview.status).where(ContentReview.id.in_([theirs, own.id]))
        ).all()
        session.rollback()
    assert statuses == ["held", "held"]


def test_a_marked_photo_is_quarantined_in_fake_mode(client: FlaskClient, world: World) -> None:
    photo = upload(client, world, "resident", size=(7, 7))  # Settings.content_risky_photo_size
    made = report(client, world, "路灯不亮", upload_ids=[photo["id"]])
    assert made.status_code == 201
    assert made.get_json()["photos"] == []  # not even for its owner: quarantined
    assert client.get(photo["url"]).status_code == 404
    flagged = world.call(
        client, "staff", "GET", f"/content-reviews?org_id={world.ids['grid_A']}&status=quarantined"
    ).get_json()["items"]
    assert [(f["subject_id"], f["used_in"], f["used_in_id"]) for f in flagged] == [
        (photo["id"], "demand", made.get_json()["id"])
    ]
    fine = upload(client, world, "resident")
    assert client.get(fine["url"]).status_code == 200


# --- live mode, against the stub WeChat server -----------------------------------------


@pytest.fixture
def live(make_app: AppFactory, stub: WechatStub, world: World, app: Flask) -> Flask:
    """An app calling the stub, over the same database as ``world``; its resident and
    member have openids WeChat saw just now."""
    with app.app_context():
        session = extensions.session()
        for role in ("resident", "member"):
            session.execute(
                update(User).where(User.id == user_id(world, role)).values(openid=f"oid-{role}")
            )
            stub.active_openids.add(f"oid-{role}")
        session.commit()
    return make_app(**stub.settings_overrides())


def test_the_stub_judges_text_with_the_authors_openid_and_scene(
    live: Flask, stub: WechatStub, world: World
) -> None:
    client = live.test_client()
    stub.text_verdicts = {"坏话": "risky", "存疑": "review"}
    refused(report(client, world, "这是坏话"), "description")
    held_one = report(client, world, "这件事存疑")
    assert held_one.status_code == 201
    assert report(client, world, "路灯不亮").status_code == 201
    sent = [payload for path, _, payload in stub.requests if path == TEXT_CHECK]
    assert [(p["openid"], p["scene"], p["version"]) for p in sent] == [("oid-resident", 3, 2)] * 3
    assert [r.subject_id for r in held(live, "demand")] == [held_one.get_json()["id"]]


def test_an_openid_wechat_no_longer_knows_holds_the_text(
    live: Flask, stub: WechatStub, world: World
) -> None:
    stub.active_openids.discard("oid-resident")  # not in the mini-program for two hours
    made = report(live.test_client(), world, "路灯不亮")
    assert made.status_code == 201
    (review,) = [r for r in held(live, "demand") if r.subject_id == made.get_json()["id"]]
    assert review.reason == "author_unknown"


def test_a_rejected_token_is_refreshed_once_for_a_text_check(
    live: Flask, stub: WechatStub, world: World
) -> None:
    client = live.test_client()
    assert report(client, world, "路灯不亮").status_code == 201
    stub.expire_token()
    assert report(client, world, "路灯又不亮").status_code == 201
    assert stub.calls[STABLE_TOKEN] == 2
    assert stub.calls[TEXT_CHECK] == 3  # the second check was sent again with the new token
    assert held(live, "demand") == []


def test_wechat_down_holds_the_text_rather_than_losing_or_passing_it(
    live: Flask, stub: WechatStub, world: World
) -> None:
    stub.fail_next(TEXT_CHECK, {"errcode": -1, "errmsg": "system error"})
    made = report(live.test_client(), world, "路灯不亮")
    assert made.status_code == 201
    (review,) = held(live, "demand")
    assert (review.subject_id, review.reason) == (made.get_json()["id"], "check_unavailable")


def upload(
    client: FlaskClient, world: World, role: str, size: tuple[int, int] = (32, 24)
) -> dict[str, Any]:
    photo = io.BytesIO()
    Image.new("RGB", size, (90, 160, 60)).save(photo, format="PNG")
    sent = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(photo.getvalue()), "现场.png")},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {world.tokens[role]}"},
    )
    assert sent.status_code == 201, sent.get_json()
    body: dict[str, Any] = sent.get_json()
    return body


def deliverer(client: FlaskClient) -> Any:
    def deliver(query: dict[str, str], body: bytes) -> int:
        response = client.post(
            "/api/v1/wechat/events",
            query_string=query,
            data=body,
            content_type="application/json",
        )
        return response.status_code

    return deliver


def only_trace(stub: WechatStub) -> str:
    (trace_id,) = stub.media_checks
    return trace_id


def demand_seen_by_owner(client: FlaskClient, world: World, photo: int) -> Any:
    """A resident's demand with the photo, handed to a member of the grid to do: how
    it looks to each role."""
    demand = report(client, world, "路灯不亮", upload_ids=[photo]).get_json()["id"]
    ok(act(client, world, "staff", demand, "accept"))
    ok(
        act(
            client,
            world,
            "staff",
            demand,
            "assign",
            owner="member",
            user_id=user_id(world, "member"),
        )
    )
    return lambda role: world.call(client, role, "GET", f"/demands/{demand}").get_json()


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_photo_is_private_until_the_pushed_verdict_passes_it(
    live: Flask, stub: WechatStub, world: World, encrypted: bool
) -> None:
    client = live.test_client()
    photo = upload(client, world, "resident")
    [(_, _, payload)] = [r for r in stub.requests if r[0] == MEDIA_CHECK]
    assert (payload["openid"], payload["media_type"], payload["version"]) == ("oid-resident", 2, 2)
    # WeChat fetches the photo by a public link that needs no token.
    link = urlsplit(payload["media_url"])
    assert (link.scheme, link.netloc) == ("https", "lianxin.example.cn")
    assert client.get(f"{link.path}?{link.query}").status_code == 200

    seen_by = demand_seen_by_owner(client, world, photo["id"])
    assert [p["id"] for p in seen_by("resident")["photos"]] == [photo["id"]]  # its owner
    assert [p["id"] for p in seen_by("staff")["photos"]] == [photo["id"]]  # the place's staff
    assert seen_by("member")["photos"] == []  # the member doing it: not yet

    trace = only_trace(stub)
    assert stub.push_media_check(trace, "pass", deliverer(client), encrypted=encrypted) == 200
    assert [p["id"] for p in seen_by("member")["photos"]] == [photo["id"]]
    # WeChat pushing again (it thought we missed it) changes nothing.
    assert stub.push_media_check(trace, "risky", deliverer(client), encrypted=encrypted) == 200
    assert [p["id"] for p in seen_by("member")["photos"]] == [photo["id"]]


def test_a_risky_photo_is_quarantined_and_its_submission_flagged(
    live: Flask, stub: WechatStub, world: World
) -> None:
    client = live.test_client()
    work = checked_out(live, world)
    photo = upload(client, world, "member")
    hand_in = {"note": "打扫楼道", "units": 3, "upload_ids": [photo["id"]]}
    submitted = world.call(client, "member", "POST", f"/participations/{work}/submit", hand_in)
    assert [p["id"] for p in submitted.get_json()["photos"]] == [photo["id"]]  # still its owner's
    assert (
        stub.push_media_check(only_trace(stub), "risky", deliverer(client), encrypted=True) == 200
    )

    assert client.get(photo["url"]).status_code == 404  # served to nobody, old links too
    flagged = world.call(
        client,
        "staff",
        "GET",
        f"/content-reviews?org_id={world.ids['community_A']}&status=quarantined",
    ).get_json()["items"]
    assert [(f["subject_id"], f["used_in"], f["used_in_id"]) for f in flagged] == [
        (photo["id"], "participation", work)
    ]


def review_rows(app: Flask) -> list[tuple[int, str, str | None]]:
    with app.app_context():
        session = extensions.session()
        rows = [
            (r.subject_id, r.status, r.trace_id)
            for r in session.scalars(
                select(ContentReview)
                .where(ContentReview.subject == "upload")
                .order_by(ContentReview.id)
            )
        ]
        session.rollback()
        return rows


def test_a_forged_push_is_refused_and_changes_nothing(
    live: Flask, stub: WechatStub, world: World
) -> None:
    client = live.test_client()
    upload(client, world, "resident")
    trace = only_trace(stub)
    before = review_rows(live)
    answers = []

    def forged(query: dict[str, str], body: bytes) -> int:
        response = client.post(
            "/api/v1/wechat/events", query_string=query, data=body, content_type="application/json"
        )
        answers.append(response.get_json()["code"])
        return response.status_code

    # Signed with a token that isn't ours.
    assert stub.push_media_check(trace, "pass", forged, token="guessed") == 403
    assert stub.push_media_check(trace, "pass", forged, encrypted=True, token="guessed") == 403
    # Encrypted with a key that isn't ours, though signed (a leaked token).
    wrong_key = "B" * 43
    assert stub.push_media_check(trace, "pass", forged, encrypted=True, aes_key=wrong_key) == 403
    # A signed push whose encrypted body is not the one signed; and no signature at all.
    query, body = stub.signed_push({"Event": "x"}, encrypted=True)
    query["msg_signature"] = "0" * 40
    assert forged(query, body) == 403
    tampered = b'{"Event": "wxa_media_check", "trace_id": "%s"}' % trace.encode()
    assert forged({}, tampered) == 403
    assert answers == [
        "push_signature_invalid",
        "push_signature_invalid",
        "push_payload_invalid",
        "push_signature_invalid",
        "push_signature_invalid",
    ]
    assert review_rows(live) == before
    assert before[0][1] == "pending"


def test_the_push_url_handshake_echoes_only_for_wechat(live: Flask, stub: WechatStub) -> None:
    client = live.test_client()
    query, _ = stub.signed_push({})
    echoed = client.get("/api/v1/wechat/events", query_string={**query, "echostr": "连心123"})
    assert (echoed.status_code, echoed.get_data(as_text=True)) == (200, "连心123")
    query["signature"] = "f" * 40
    forged = client.get("/api/v1/wechat/events", query_string={**query, "echostr": "x"})
    assert (forged.status_code, forged.get_json()["code"]) == (403, "push_signature_invalid")


def test_uploads_answer_even_when_wechat_is_down(
    live: Flask, stub: WechatStub, world: World
) -> None:
    stub.fail_next(MEDIA_CHECK, {"errcode": -1, "errmsg": "system error"})
    photo = upload(live.test_client(), world, "resident")
    # Pending, with no trace: private to its owner until it is checked.
    assert review_rows(live) == [(photo["id"], "pending", None)]


def test_held_text_is_hidden_from_the_member_handed_the_demand(
    client: FlaskClient, world: World
) -> None:
    description = f"楼道堆物，{REVIEW}"
    demand = report(client, world, description).get_json()["id"]
    ok(act(client, world, "staff", demand, "accept"))
    member = user_id(world, "member")
    ok(act(client, world, "staff", demand, "assign", owner="member", user_id=member))
    ok(act(client, world, "member", demand, "resolve", resolution="已清理"))
    ok(act(client, world, "admin", demand, "verify"))
    rated = {"score": 4, "comment": f"还行{REVIEW}"}
    assert world.call(client, "resident", "POST", f"/demands/{demand}/rating", rated).status_code

    def seen(role: str) -> tuple[str, str, list[str]]:
        body = world.call(client, role, "GET", f"/demands/{demand}").get_json()
        notes = [step["note"] for step in body["timeline"] if step["action"] == "rate"]
        return body["description"], body["rating"]["comment"], notes

    everything = (description, rated["comment"], [rated["comment"]])
    assert seen("resident") == everything  # its author
    assert seen("staff") == everything  # who releases it
    assert seen("member") == ("", "", [""])  # the member who did the work: not yet
    for subject in ("demand", "rating"):
        (review,) = [r for r in held(client.application, subject) if r.subject_id == demand]
        released = world.call(client, "staff", "POST", f"/content-reviews/{review.id}/release")
        assert released.status_code == 200
    assert seen("member") == everything


def test_a_console_account_without_an_openid_has_its_text_and_photos_held(
    live: Flask, stub: WechatStub, world: World
) -> None:
    client = live.test_client()
    body = {"category": "facility", "description": "路灯不亮", "org_id": world.ids["grid_A"]}
    made = world.call(client, "staff", "POST", "/demands", body)
    assert made.status_code == 201
    (review,) = [r for r in held(live, "demand") if r.subject_id == made.get_json()["id"]]
    assert review.reason == "no_openid"
    photo = upload(client, world, "staff")
    assert review_rows(live) == [(photo["id"], "held", review_rows(live)[0][2])]
    assert stub.calls[TEXT_CHECK] == stub.calls[MEDIA_CHECK] == 0  # nothing WeChat could judge


def test_a_photo_wechat_could_not_take_is_asked_for_again_and_then_passes(
    live: Flask, stub: WechatStub, world: World
) -> None:
    stub.fail_next(MEDIA_CHECK, {"errcode": -1, "errmsg": "system error"})
    client = live.test_client()
    photo = upload(client, world, "resident")
    assert review_rows(live) == [(photo["id"], "pending", None)]
    runner = live.test_cli_runner()
    # Just sent, it may still be on its way to WeChat: not asked twice.
    soon = runner.invoke(cli, ["uploads", "recheck"])
    assert (soon.exit_code, soon.output.strip()) == (0, "asked WeChat to check 0 photo(s) again")
    with time_machine.travel(utcnow() + timedelta(minutes=3), tick=True):
        later = runner.invoke(cli, ["uploads", "recheck"])
    assert later.exit_code == 0, later.output
    assert "check 1 photo(s)" in later.output
    [(_, trace)] = [(upload_id, trace) for upload_id, _, trace in review_rows(live)]
    assert trace == only_trace(stub)
    # The link WeChat was given is the public one, and it works.
    [*_, (_, _, payload)] = [r for r in stub.requests if r[0] == MEDIA_CHECK]
    link = urlsplit(payload["media_url"])
    assert (link.scheme, link.netloc) == ("https", "lianxin.example.cn")
    assert client.get(f"{link.path}?{link.query}").status_code == 200
    assert stub.push_media_check(trace, "pass", deliverer(client)) == 200
    assert review_rows(live) == [(photo["id"], "passed", trace)]
    # Nothing is left to ask for.
    with time_machine.travel(utcnow() + timedelta(minutes=3), tick=True):
        again = runner.invoke(cli, ["uploads", "recheck"])
    assert "check 0 photo(s)" in again.output


def test_a_verdict_before_its_trace_was_stored_is_refused_so_wechat_pushes_again(
    live: Flask, stub: WechatStub, world: World
) -> None:
    client = live.test_client()
    message = {
        "ToUserName": "gh_stub",
        "FromUserName": "oid-resident",
        "MsgType": "event",
        "Event": "wxa_media_check",
        "appid": stub.appid,
        "trace_id": "not-stored-yet",
        "version": 2,
        "errcode": 0,
        "result": {"suggest": "pass", "label": 100},
    }
    before = review_rows(live)
    query, body = stub.signed_push(message)
    early = client.post(
        "/api/v1/wechat/events", query_string=query, data=body, content_type="application/json"
    )
    assert (early.status_code, early.get_json()["code"]) == (409, "unknown_trace")
    assert review_rows(live) == before
