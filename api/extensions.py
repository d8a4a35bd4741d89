"""Per-app database, migrations, Redis and rate limits.

Each app gets its own extension objects (nothing is created at import time), and
handlers reach them through the accessors below.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from flask import Flask, current_app, g, has_request_context
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from api import rate_limits
from service.certificates.verification import certificate_handlers
from service.config import Settings
from service.db import configure_engine, engine_options
from service.leaderboards.boards import Boards
from service.leaderboards.feed import LeaderboardFeed
from service.models import Base
from service.moderation.events import PushConfig
from service.notifications.counters import UnreadCounts
from service.notifications.handlers import notification_handlers
from service.notifications.templates import Templates, templates_of
from service.outbox.dispatch import Dispatcher
from service.people.phones import PhoneVault
from service.redis_connection import connect_redis
from service.unit_of_work import UnitOfWork
from service.uploads.storage import LocalDiskStore, UploadStore
from service.wechat.client import WechatGateway, wechat_gateway
from service.wechat.security import ContentSecurity, content_security
from service.wechat.subscribe import SubscribeSender, subscribe_sender

MIGRATIONS_DIRECTORY = str(Path(__file__).with_name("migrations"))

REDIS = "lianxin.redis"
RATE_LIMITS = "lianxin.rate_limits"
WECHAT = "lianxin.wechat"
CONTENT_SECURITY = "lianxin.content_security"
PHONE_VAULT = "lianxin.phone_vault"
UPLOAD_STORE = "lianxin.upload_store"
BOARDS = "lianxin.leaderboards"
UNREAD_COUNTS = "lianxin.unread_counts"
TEMPLATES = "lianxin.wechat_templates"
REPORTS_ENGINE = "lianxin.reports_engine"
REPORT_WORK_MEM = "64MB"


def init_app(app: Flask, settings: Settings) -> None:
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = settings.sqlalchemy_url.render_as_string(
        hide_password=False
    )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(settings)
    db = SQLAlchemy(metadata=Base.metadata, session_options={"expire_on_commit": False})
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
        app.extensions[REPORTS_ENGINE] = _reports_engine(settings, db.engine)
    Migrate(app, db, directory=MIGRATIONS_DIRECTORY, render_as_batch=True, compare_type=True)

    client = connect_redis(settings)
    app.extensions[REDIS] = client
    app.extensions[RATE_LIMITS] = rate_limits.init_app(app, settings, client)
    app.extensions[WECHAT] = wechat_gateway(settings, client)
    app.extensions[CONTENT_SECURITY] = content_security(settings, app.extensions[WECHAT])
    app.extensions[PHONE_VAULT] = PhoneVault(settings.personal_data_key)
    app.extensions[UPLOAD_STORE] = LocalDiskStore(settings.upload_path)
    app.extensions[BOARDS] = Boards(
        client, settings.redis_prefix, settings.leaderboard_keep_periods
    )
    app.extensions[UNREAD_COUNTS] = UnreadCounts(client, settings.redis_prefix)
    app.extensions[TEMPLATES] = templates_of(settings)


def _reports_engine(settings: Settings, main: Engine) -> Engine:
    """The engine reports read through: their own (a read replica) when
    LIANXIN_REPORTS_DATABASE_URL is set, the main one's pool otherwise."""
    url = settings.reports_sqlalchemy_url
    if url is None:
        return main
    engine = create_engine(url, **engine_options(settings))
    configure_engine(engine)
    return engine


def reports_engine() -> Engine:
    engine: Engine = current_app.extensions[REPORTS_ENGINE]
    return engine


@contextmanager
def reports_session() -> Iterator[Session]:
    """A session on the reports' connection for one report: it only reads, so it is
    rolled back, never committed, and closed when the report is written."""
    engine = reports_engine()
    with Session(engine) as session:
        try:
            if engine.dialect.name == "postgresql":
                # A report sums a million rows per person or account: with the default
                # 4 MB its hash tables spill to disk. For this transaction only.
                session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
            yield session
        finally:
            session.rollback()


def wechat() -> WechatGateway:
    gateway: WechatGateway = current_app.extensions[WECHAT]
    return gateway


def content_checks() -> ContentSecurity:
    checks: ContentSecurity = current_app.extensions[CONTENT_SECURITY]
    return checks


def push_config() -> PushConfig:
    """What tells WeChat's message pushes from forgeries (service/wechat/push.py)."""
    values = settings()
    return PushConfig(values.wechat_push_token, values.wechat_push_aes_key, values.wechat_appid)


def upload_store() -> UploadStore:
    store: UploadStore = current_app.extensions[UPLOAD_STORE]
    return store


def phone_vault() -> PhoneVault:
    vault: PhoneVault = current_app.extensions[PHONE_VAULT]
    return vault


def settings() -> Settings:
    value: Settings = current_app.config["LIANXIN_SETTINGS"]
    return value


def session() -> Session:
    db: SQLAlchemy = current_app.extensions["sqlalchemy"]
    return db.session()


def unit_of_work() -> UnitOfWork:
    # After each commit, the leaderboards hear of the points it moved; what it audits
    # carries the request's id (api/observability.py), None outside a request.
    feed = LeaderboardFeed(leaderboards())
    return UnitOfWork(
        session(),
        consumers=(feed,),
        dispatcher=outbox_dispatcher(feed),
        request_id=g.get("request_id") if has_request_context() else None,
    )


def outbox_dispatcher(feed: LeaderboardFeed | None = None) -> Dispatcher:
    """Who handles each kind of outbox message: the leaderboards, the notifications
    (notices, and task edits told to the people signed up), and reversals, which
    supersede the certificates that listed the work."""
    feed = feed or LeaderboardFeed(leaderboards())
    return Dispatcher(
        {
            **feed.handlers(),
            **notification_handlers(wechat_templates(), unread_counts()),
            **certificate_handlers(),
        }
    )


def unread_counts() -> UnreadCounts:
    counts: UnreadCounts = current_app.extensions[UNREAD_COUNTS]
    return counts


def wechat_templates() -> Templates:
    templates: Templates = current_app.extensions[TEMPLATES]
    return templates


def subscribe_messages() -> SubscribeSender:
    return subscribe_sender(wechat())


def leaderboards() -> Boards:
    boards: Boards = current_app.extensions[BOARDS]
    return boards


def rate_limits_in_force() -> rate_limits.RateLimits:
    limits: rate_limits.RateLimits = current_app.extensions[RATE_LIMITS]
    return limits


def redis_client() -> redis.Redis:
    client: redis.Redis = current_app.extensions[REDIS]
    return client
