"""Photos: upload checked by content and cleaned of EXIF, shown by signed links,
attached to submitted work once, and seen by the approver."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from api import extensions
from service.db import utcnow
from service.tasks.models import Participation
from service.uploads.models import ParticipationPhoto, Upload
from tests.api.test_approvals import HERE, running_task
from tests.api.world import World


def photo_bytes(kind: str = "JPEG", size: tuple[int, int] = (64, 48), gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 80, 40))
    out = io.BytesIO()
    options: dict[str, Any] = {}
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x8825] = {1: "N", 2: (39.0, 54.0, 58.0), 3: "E", 4: (116.0, 24.0, 14.0)}
        options["exif"] = exif
    image.save(out, format=kind, **options)
    return out.getvalue()


def upload(
    client: FlaskClient, world: World, role: str, data: bytes, name: str = "photo.jpg"
) -> TestResponse:
    return client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {world.tokens[role]}"},
    )


def uploaded(client: FlaskClient, world: World, role: str = "member", **photo: Any) -> int:
    response = upload(client, world, role, photo_bytes(**photo))
    assert response.status_code == 201, response.get_json()
    upload_id: int = response.get_json()["id"]
    return upload_id


def hand_in(
    client: FlaskClient, world: World, participation: int, photos: list[int], role: str = "member"
) -> TestResponse:
    """Submit the work with these photos (one household reached)."""
    return world.call(
        client,
        role,
        "POST",
        f"/participations/{participation}/submit",
        {"units": 1, "upload_ids": photos},
    )


def stored(app: Flask) -> tuple[int, int]:
    """(upload rows, files on disk)."""
    with app.app_context():
        rows = extensions.session().scalar(select(func.count()).select_from(Upload)) or 0
        root = extensions.settings().upload_path
        files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
        return rows, len(files)


def test_a_photo_is_taken_in_cleaned_of_its_location_and_shown_by_link(
    client: FlaskClient, world: World
) -> None:
    original = photo_bytes(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # it had GPS
    response = upload(client, world, "member", original, name="IMG_0001.JPG")
    assert response.status_code == 201
    body = response.get_json()
    assert body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"]) == (64, 48)

    shown = client.get(body["url"])  # no token: an <image> can't send one
    assert shown.status_code == 200
    assert shown.mimetype == "image/jpeg"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(shown.data))
    assert image.format == "JPEG"
    assert not image.getexif()  # no GPS, no maker: nothing rides along


@pytest.mark.parametrize("kind", ["PNG", "WEBP"])
def test_png_and_webp_are_accepted_whatever_they_are_called(
    client: FlaskClient, world: World, kind: str
) -> None:
    response = upload(client, world, "volunteer", photo_bytes(kind), name="no-extension")
    assert response.status_code == 201
    assert response.get_json()["content_type"] == f"image/{kind.lower()}"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"#!/bin/sh\necho not a photo\n", "photo.jpg"),  # named like one, isn't one
        (photo_bytes()[:200], "cut.jpg"),  # truncated on the way
        (b"GIF89a" + b"\x00" * 64, "anim.gif"),
    ],
)
def test_what_is_not_an_accepted_photo_is_refused_and_nothing_is_kept(
    app: Flask, client: FlaskClient, world: World, data: bytes, name: str
) -> None:
    before = stored(app)
    response = upload(client, world, "member", data, name=name)
    assert response.status_code == 422
    assert response.get_json()["code"] == "not_an_image"
    assert "file" in response.get_json()["errors"]
    assert stored(app) == before


def test_a_gif_is_named_as_the_reason(client: FlaskClient, world: World) -> None:
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    response = upload(client, world, "member", gif.getvalue(), name="x.gif")
    assert response.status_code == 422
    assert "GIF" in response.get_json()["errors"]["file"][0]


def test_a_photo_over_the_limit_is_413_and_nothing_is_kept(make_app: Any, world: World) -> None:
    small = make_app(upload_max_bytes=1024)
    client = small.test_client()
    before = stored(small)
    response = upload(client, world, "member", photo_bytes(size=(400, 400)))
    assert response.status_code == 413
    assert response.get_json()["code"] == "too_large"
    assert stored(small) == before


def test_a_missing_file_and_a_missing_token_are_refused(client: FlaskClient, world: World) -> None:
    no_file = client.post(
        "/api/v1/uploads",
        data={"other": "x"},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {world.tokens['member']}"},
    )
    assert no_file.status_code == 422
    assert "file" in no_file.get_json()["errors"]
    anonymous = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(photo_bytes()), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert anonymous.status_code == 401


def _link(client: FlaskClient, world: World) -> tuple[str, dict[str, str]]:
    body = upload(client, world, "member", photo_bytes()).get_json()
    parts = urlsplit(body["url"])
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return parts.path, query


def test_a_forged_altered_or_expired_link_shows_nothing(
    app: Flask, client: FlaskClient, world: World
) -> None:
    path, query = _link(client, world)
    assert client.get(path, query_string=query).status_code == 200
    forged = client.get(path, query_string={**query, "signature": "0" * 32})
    assert forged.status_code == 404
    later = client.get(path, query_string={**query, "expires": int(query["expires"]) + 3600})
    assert later.status_code == 404
    other = path.replace(path.split("/")[-2], str(int(path.split("/")[-2]) + 1000))
    assert client.get(other, query_string=query).status_code == 404
    assert client.get(path).status_code == 422  # no signature at all

    from points.uploads import derive_key, sign_link

    with app.app_context():
        key = derive_key(extensions.settings().secret_key)
    upload_id = int(path.split("/")[-2])
    expires, signature = sign_link(key, upload_id, utcnow() - timedelta(hours=2))
    stale = client.get(path, query_string={"expires": expires, "signature": signature})
    assert stale.status_code == 404


def checked_out(client: FlaskClient, world: World, task: int, role: str = "member") -> int:
    signed = world.call(client, role, "POST", f"/tasks/{task}/signups").get_json()
    code = world.call(client, "staff", "GET", f"/tasks/{task}/checkin-code").get_json()["code"]
    pid: int = signed["id"]
    assert (
        world.call(
            client, role, "POST", f"/participations/{pid}/checkin", {**HERE, "code": code}
        ).status_code
        == 200
    )
    assert (
        world.call(client, role, "POST", f"/participations/{pid}/checkout", HERE).status_code == 200
    )
    return pid


def test_submitted_photos_reach_the_approver_in_order(
    app: Flask, client: FlaskClient, world: World
) -> None:
    task = running_task(app, world)
    mine = checked_out(client, world, task)
    first, second = uploaded(client, world), uploaded(client, world, kind="PNG")
    submitted = world.call(
        client,
        "member",
        "POST",
        f"/participations/{mine}/submit",
        {"note": "送菜上门", "units": 2, "upload_ids": [second, first]},
    )
    assert submitted.status_code == 200, submitted.get_json()
    assert [p["id"] for p in submitted.get_json()["photos"]] == [second, first]

    queue = world.call(client, "staff", "GET", "/approvals").get_json()["items"]
    seen = next(item for item in queue if item["id"] == mine)
    assert [p["id"] for p in seen["photos"]] == [second, first]
    shown = client.get(seen["photos"][1]["url"])
    assert shown.status_code == 200
    assert shown.mimetype == "image/jpeg"


@pytest.mark.parametrize(
    "case", ["someone_elses", "missing", "listed_twice", "already_handed_in", "too_many"]
)
def test_photos_that_are_not_yours_to_attach_refuse_the_whole_submission(
    app: Flask, client: FlaskClient, world: World, case: str
) -> None:
    task = running_task(app, world)
    mine = checked_out(client, world, task)
    own = uploaded(client, world)
    ids = {
        "someone_elses": [own, uploaded(client, world, "volunteer")],
        "missing": [own, 999_999],
        "listed_twice": [own, own],
        "too_many": [uploaded(client, world) for _ in range(10)],
        "already_handed_in": [own],
    }[case]
    if case == "already_handed_in":
        other = checked_out(client, world, running_task(app, world))
        assert hand_in(client, world, other, [own]).status_code == 200
    with app.app_context():
        photos_before = extensions.session().scalar(
            select(func.count()).select_from(ParticipationPhoto)
        )
    response = world.call(
        client,
        "member",
        "POST",
        f"/participations/{mine}/submit",
        {"units": 1, "upload_ids": ids},
    )
    assert response.status_code == 422
    assert "upload_ids" in response.get_json()["errors"]
    with app.app_context():
        session = extensions.session()
        assert session.get(Participation, mine).status == "checked_out"  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(ParticipationPhoto)) == photos_before
