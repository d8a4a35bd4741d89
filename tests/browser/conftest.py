"""Browser tests of the staff console: Playwright for Python driving Debian's chromium
(apt, never `playwright install`) against the app served on a free port.

Without chromium they are skipped with the reason; under CI=true a missing chromium
fails them instead. Screenshots go to test-artifacts/console/ (LIANXIN_SCREENSHOTS)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from api import extensions
from api.console.clock import CLOCK
from points.access import Role, ScopeType
from service.auth.passwords import hash_password
from service.db import utcnow
from service.people.directory import ensure_grant
from service.people.models import User
from service.rules.models import RuleSetVersion
from tests.api.world import World, build_world
from tests.integration.serving import free_port

PASSWORD = "correct horse battery"
SCREENSHOTS = Path(os.environ.get("LIANXIN_SCREENSHOTS", "test-artifacts/console")).absolute()


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        message = "no chromium on PATH: apt-get install -y chromium to run the browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Live:
    url: str
    app: Flask
    offset: timedelta = timedelta()

    def move_clock(self, by: timedelta) -> None:
        """The console's clock, moved: the check-in page's next code without waiting."""
        self.offset = by


@pytest.fixture(scope="session")
def live(app: Flask) -> Iterator[Live]:
    port = free_port()
    server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    served = Live(f"http://127.0.0.1:{port}", app)

    def clock() -> datetime:
        return utcnow() + served.offset

    app.extensions[CLOCK] = clock
    yield served
    app.extensions.pop(CLOCK, None)
    server.shutdown()
    thread.join(timeout=10)


@dataclass
class ConsoleWorld:
    world: World
    usernames: dict[str, str]


@pytest.fixture
def console_world(app: Flask, fresh_state: None, live: Live) -> ConsoleWorld:
    """tests/api/world.py's world, its staff, clerk and admin with console passwords,
    community B's staff too, and community A's rules published so approving pays."""
    live.offset = timedelta()
    world = build_world(app)
    usernames = {
        "staff": "staff-a",
        "clerk": "clerk-a",
        "admin": "admin-a",
        "dept_officer": "officer-a",
    }
    with app.app_context():
        session = extensions.session()
        hashed = hash_password(PASSWORD)
        for role, username in usernames.items():
            user = session.query(User).filter_by(name=role).one()
            user.username, user.password_hash = username, hashed
            world.ids[f"user_{role}"] = user.id
        other = User(name="社区B工作者", username="staff-b", password_hash=hashed)
        session.add(other)
        session.flush()
        ensure_grant(session, other, Role.STAFF, ScopeType.PLACE, world.ids["community_B"])
        usernames["staff_B"] = "staff-b"
        rules = session.get(RuleSetVersion, world.ids["rules_A"])
        assert rules is not None
        rules.status, rules.published_at = "published", utcnow()
        session.commit()
    return ConsoleWorld(world, usernames)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Browser, live: Live) -> Iterator[Callable[..., Page]]:
    """A fresh browser context (no cookies) at a given width, per call."""
    contexts = []

    def make(width: int = 1280) -> Page:
        context = chromium.new_context(
            base_url=live.url, viewport={"width": width, "height": 900}, locale="zh-CN"
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
