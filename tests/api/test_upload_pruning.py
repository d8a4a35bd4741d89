"""Photos nobody handed in are deleted after a week (`lianxin uploads prune`); photos in
use by a submission, a visit or a demand stay, and an old photo can't be named any more."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from api import extensions
from api.cli import cli
from points.uploads import UNATTACHED_KEPT
from service.db import utcnow
from service.demands.models import Demand
from service.households.models import HouseholdVisit
from service.tasks.models import Participation
from service.uploads.models import ParticipationPhoto, Upload
from tests.api.test_approvals import running_task
from tests.api.test_demands import report
from tests.api.test_households import add_household, log_visit
from tests.api.test_uploads import checked_out, hand_in, stored, uploaded
from tests.api.world import World
from tests.conftest import AppFactory


@pytest.fixture
def app(app: Flask, make_app: AppFactory, tmp_path: Path) -> Flask:
    """The suite's app with an upload folder of this test's own: pruning sweeps the
    whole folder, and files other tests left there are not this test's to count."""
    return make_app(upload_dir=tmp_path / "uploads")


def sent_earlier(app: Flask, upload_ids: Iterable[int], by: timedelta) -> None:
    with app.app_context():
        session = extensions.session()
        for upload in session.scalars(select(Upload).where(Upload.id.in_(list(upload_ids)))):
            upload.created_at -= by
        session.commit()


def work_kept(app: Flask) -> tuple[int, int, int]:
    """(photos attached to submissions, visits, demands)."""
    with app.app_context():
        session = extensions.session()
        photos, visits, demands = (
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (ParticipationPhoto, HouseholdVisit, Demand)
        )
        session.rollback()
    return photos, visits, demands


def files_of(app: Flask) -> dict[int, Path]:
    with app.app_context():
        root = extensions.settings().upload_path
        return {
            upload_id: root / name[:2] / name
            for upload_id, name in extensions.session().execute(
                select(Upload.id, Upload.storage_name)
            )
        }


def test_prune_deletes_only_the_photos_nobody_handed_in(
    app: Flask, client: FlaskClient, world: World, runner: FlaskCliRunner
) -> None:
    mine = checked_out(client, world, running_task(app, world))
    submitted = uploaded(client, world)
    handed_in = hand_in(client, world, mine, [submitted])
    assert handed_in.status_code == 200, handed_in.get_json()
    visited = uploaded(client, world)
    household = add_household(client, world, "2栋301")
    assert log_visit(client, world, household, upload_ids=[visited]).status_code == 201
    reported = uploaded(client, world, "resident")
    assert report(client, world, upload_ids=[reported]).status_code == 201
    abandoned, recent = uploaded(client, world), uploaded(client, world)
    sent_earlier(
        app, [submitted, visited, reported, abandoned], UNATTACHED_KEPT + timedelta(hours=2)
    )
    files = files_of(app)
    rows_before, files_before = stored(app)

    result = runner.invoke(cli, ["uploads", "prune"])

    assert result.exit_code == 0, result.output
    assert "pruned 1 unattached photo(s)" in result.output
    assert stored(app) == (rows_before - 1, files_before - 1)
    assert not files[abandoned].exists()
    assert all(files[kept].exists() for kept in (submitted, visited, reported, recent))
    with app.app_context():
        left = set(extensions.session().scalars(select(Upload.id)))
    assert left == {submitted, visited, reported, recent}
    # Safe to run again: nothing more to delete.
    again = runner.invoke(cli, ["uploads", "prune"])
    assert again.exit_code == 0, again.output
    assert "pruned 0 unattached photo(s)" in again.output
    assert stored(app) == (rows_before - 1, files_before - 1)


def test_a_photo_just_past_its_week_waits_for_the_margin(
    app: Flask, client: FlaskClient, world: World, runner: FlaskCliRunner
) -> None:
    edge = uploaded(client, world)
    sent_earlier(app, [edge], UNATTACHED_KEPT + timedelta(minutes=5))

    result = runner.invoke(cli, ["uploads", "prune"])

    assert "pruned 0 unattached photo(s)" in result.output
    kept = files_of(app)
    assert list(kept) == [edge]
    assert kept[edge].exists()


@pytest.mark.parametrize("use", ["submission", "visit", "demand"])
def test_a_photo_sent_over_a_week_ago_can_no_longer_be_named(
    app: Flask, client: FlaskClient, world: World, use: str
) -> None:
    role = "resident" if use == "demand" else "member"
    old = uploaded(client, world, role)
    sent_earlier(app, [old], UNATTACHED_KEPT + timedelta(minutes=1))

    mine = checked_out(client, world, running_task(app, world)) if use == "submission" else 0
    household = add_household(client, world, "2栋302") if use == "visit" else 0
    before = work_kept(app)

    if use == "submission":
        response = hand_in(client, world, mine, [old], role)
    elif use == "visit":
        response = log_visit(client, world, household, upload_ids=[old])
    else:
        response = report(client, world, upload_ids=[old])

    assert response.status_code == 422, response.get_json()
    answer = response.get_json()
    assert answer["code"] == "invalid_input"
    assert answer["errors"]["upload_ids"] == [
        f"{old} is {'not an unattached' if use == 'submission' else 'not a'} photo of yours "
        "sent in the last 7 days"
    ]
    assert work_kept(app) == before  # nothing handed in, logged or reported
    if use == "submission":
        with app.app_context():
            status = extensions.session().get(Participation, mine).status  # type: ignore[union-attr]
        assert status == "checked_out"


def test_a_file_that_cannot_be_deleted_is_reported_and_its_row_still_goes(
    app: Flask,
    client: FlaskClient,
    world: World,
    runner: FlaskCliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    abandoned = uploaded(client, world)
    sent_earlier(app, [abandoned], UNATTACHED_KEPT + timedelta(hours=2))
    file = files_of(app)[abandoned]
    # As old as its row, so the sweep for files no row names sees it too once the row
    # is gone: refused once, it is counted once.
    week_ago = (utcnow() - UNATTACHED_KEPT - timedelta(hours=2)).timestamp()
    os.utime(file, (week_ago, week_ago))

    def refuse(name: str) -> None:
        raise PermissionError(f"read-only volume: {name}")

    monkeypatch.setattr(app.extensions[extensions.UPLOAD_STORE], "delete", refuse)
    result = runner.invoke(cli, ["uploads", "prune"])

    # Exit 1 so the scheduler alerts; no row is left pointing at the file.
    assert result.exit_code == 1
    assert "pruned 1 unattached photo(s) and 0 file(s) no photo named" in result.output
    assert "Error: 1 file(s) could not be deleted" in result.output
    assert files_of(app) == {}
    assert file.exists()


def test_files_no_photo_names_are_swept_once_a_day_old(
    app: Flask, client: FlaskClient, world: World, runner: FlaskCliRunner
) -> None:
    with app.app_context():
        store = extensions.upload_store()
        root = extensions.settings().upload_path
        for name in ("zzleft-over.jpg", "zzjust-saved.jpg"):
            store.save(name, b"not a row's", "image/jpeg")
    kept = uploaded(client, world)
    files = files_of(app)
    # A file's age comes from the file system, not from the clock the suite may move.
    two_days_ago = (utcnow() - timedelta(days=2)).timestamp()
    for path in (root / "zz" / "zzleft-over.jpg", files[kept]):
        os.utime(path, (two_days_ago, two_days_ago))
    just_now = utcnow().timestamp()
    os.utime(root / "zz" / "zzjust-saved.jpg", (just_now, just_now))

    result = runner.invoke(cli, ["uploads", "prune"])

    assert result.exit_code == 0, result.output
    assert "pruned 0 unattached photo(s) and 1 file(s) no photo named" in result.output
    assert not (root / "zz" / "zzleft-over.jpg").exists()
    assert (root / "zz" / "zzjust-saved.jpg").exists()  # its row may be on the way
    assert files[kept].exists()  # named by a photo sent just now
