from decimal import Decimal
from pathlib import Path

import pytest

from service.config import DEV_SECRET_KEY, ConfigError, Environment, Settings, WechatMode

GOOD_SECRET = "k" * 48
PRODUCTION = {
    "LIANXIN_ENV": "production",
    "LIANXIN_SECRET_KEY": GOOD_SECRET,
    "LIANXIN_DATA_KEY": "d" * 48,
    "LIANXIN_DATABASE_URL": "postgresql://lianxin@db.internal:5432/lianxin",
    "LIANXIN_REDIS_URL": "redis://cache.internal:6379/0",
    "LIANXIN_WECHAT_MODE": "live",
    "LIANXIN_WECHAT_APPID": "wx0123456789abcdef",
    "LIANXIN_WECHAT_SECRET": "s" * 32,
    "LIANXIN_WECHAT_PUSH_TOKEN": "push-token-0123",
    "LIANXIN_PUBLIC_BASE_URL": "https://lianxin.example.cn",
    "LIANXIN_CERTIFICATE_VERIFY_BASE_URL": "https://lianxin.example.cn",
}


def test_no_environment_means_the_embedded_default(tmp_path: Path) -> None:
    settings = Settings.from_env({"LIANXIN_INSTANCE_PATH": str(tmp_path)})
    settings.validate()
    assert settings.env is Environment.DEVELOPMENT
    assert settings.is_sqlite
    assert settings.sqlalchemy_url.database == str(tmp_path / "lianxin.sqlite3")
    assert settings.redis_url is None
    assert settings.embedded_redis_path == tmp_path / "redis.db"
    assert settings.wechat_mode is WechatMode.FAKE


def test_the_console_cookie_is_secure_in_production_unless_told_otherwise() -> None:
    assert Settings.from_env(PRODUCTION).console_cookie_secure
    assert not Settings.from_env({}).console_cookie_secure
    assert Settings.from_env({"LIANXIN_CONSOLE_COOKIE_SECURE": "true"}).console_cookie_secure
    with pytest.raises(ConfigError, match="true or false"):
        Settings.from_env({"LIANXIN_CONSOLE_COOKIE_SECURE": "maybe"})


def test_a_plain_postgresql_url_uses_psycopg_3() -> None:
    settings = Settings.from_env(PRODUCTION)
    settings.validate()
    assert settings.sqlalchemy_url.drivername == "postgresql+psycopg"
    assert settings.sqlalchemy_url.host == "db.internal"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"LIANXIN_SECRET_KEY": ""}, "LIANXIN_SECRET_KEY"),
        ({"LIANXIN_SECRET_KEY": DEV_SECRET_KEY}, "LIANXIN_SECRET_KEY"),
        ({"LIANXIN_SECRET_KEY": "short-secret"}, "at least 32"),
        ({"LIANXIN_DATABASE_URL": ""}, "PostgreSQL"),
        ({"LIANXIN_DATABASE_URL": "sqlite:////var/lib/lianxin.db"}, "PostgreSQL"),
        ({"LIANXIN_REDIS_URL": ""}, "LIANXIN_REDIS_URL"),
        ({"LIANXIN_WECHAT_MODE": "fake"}, "fake"),
        ({"LIANXIN_WECHAT_SECRET": ""}, "LIANXIN_WECHAT_SECRET"),
        ({"LIANXIN_DATA_KEY": ""}, "LIANXIN_DATA_KEY"),
        ({"LIANXIN_WECHAT_PUSH_TOKEN": ""}, "LIANXIN_WECHAT_PUSH_TOKEN"),
        ({"LIANXIN_PUBLIC_BASE_URL": ""}, "LIANXIN_PUBLIC_BASE_URL"),
        ({"LIANXIN_PUBLIC_BASE_URL": "http://10.0.0.5"}, "LIANXIN_PUBLIC_BASE_URL"),
        ({"LIANXIN_CERTIFICATE_VERIFY_BASE_URL": ""}, "LIANXIN_CERTIFICATE_VERIFY_BASE_URL"),
        (
            {"LIANXIN_CERTIFICATE_VERIFY_BASE_URL": "http://127.0.0.1:8000"},
            "LIANXIN_CERTIFICATE_VERIFY_BASE_URL",
        ),
        ({"LIANXIN_CONSOLE_COOKIE_SECURE": "false"}, "LIANXIN_CONSOLE_COOKIE_SECURE"),
    ],
)
def test_production_refuses_unsafe_settings(change: dict[str, str], reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as raised:
        Settings.from_env({**PRODUCTION, **change}).validate()
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({"LIANXIN_DATABASE_URL": "not a url"}, "not a database URL"),
        ({"LIANXIN_DATABASE_URL": "mysql://root@localhost/x"}, "PostgreSQL or SQLite"),
        ({"LIANXIN_REDIS_URL": "http://localhost:6379"}, "redis://"),
        ({"LIANXIN_ENV": "staging"}, "LIANXIN_ENV must be one of"),
        ({"LIANXIN_WECHAT_MODE": "sandbox"}, "LIANXIN_WECHAT_MODE"),
        ({"LIANXIN_MAX_REQUEST_BYTES": "ten"}, "whole number"),
        ({"LIANXIN_MAX_REQUEST_BYTES": "0"}, "positive"),
        ({"LIANXIN_UPLOAD_MAX_BYTES": "0"}, "UPLOAD_MAX_BYTES must be positive"),
        ({"LIANXIN_IMPORT_MAX_BYTES": "0"}, "IMPORT_MAX_BYTES must be positive"),
        ({"LIANXIN_IMPORT_MAX_ROWS": "-1"}, "IMPORT_MAX_ROWS must be positive"),
        ({"LIANXIN_DB_POOL_SIZE": "5.5"}, "whole number"),
        ({"LIANXIN_NOTIFICATION_KEEP_DAYS": "0"}, "KEEP_DAYS must be at least 1"),
        ({"LIANXIN_WECHAT_TEMPLATES": "{not json"}, "TEMPLATES must be a JSON object"),
        ({"LIANXIN_WECHAT_TEMPLATES": "[]"}, "TEMPLATES must be a JSON object"),
        ({"LIANXIN_WECHAT_TEMPLATES": '{"no.such": {}}'}, "'no.such' is no notice topic"),
        (
            {"LIANXIN_WECHAT_TEMPLATES": '{"task.starting": {"fields": {"thing1": "x"}}}'},
            "template_id",
        ),
        (
            {"LIANXIN_WECHAT_TEMPLATES": '{"task.starting": {"template_id": "t", "fields": {}}}'},
            "needs fields",
        ),
        (
            {
                "LIANXIN_WECHAT_TEMPLATES": '{"task.starting": {"template_id": "t",'
                ' "fields": {"colour1": "x"}}}'
            },
            "'colour1' is no WeChat field type",
        ),
        ({"LIANXIN_SERVICE_LEVELS": "一星:300,二星:100"}, "LIANXIN_SERVICE_LEVELS: 二星 must need"),
        ({"LIANXIN_SERVICE_LEVELS": "一星"}, "LIANXIN_SERVICE_LEVELS: step 1 must be NAME:HOURS"),
        ({"LIANXIN_SERVICE_LEVELS": "一星:百"}, "LIANXIN_SERVICE_LEVELS: 一星's hours"),
    ],
)
def test_bad_settings_name_the_variable(environ: dict[str, str], reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        Settings.from_env(environ).validate()


def test_templates_are_read_as_json() -> None:
    raw = (
        '{"task.starting": {"template_id": "t-1", "page": "pages/a",'
        ' "fields": {"time2": "starts_at"}}}'
    )
    settings = Settings.from_env({"LIANXIN_WECHAT_TEMPLATES": raw})
    settings.validate()
    assert settings.wechat_templates["task.starting"]["template_id"] == "t-1"


def test_service_levels_default_to_the_five_stars_and_are_read_from_the_environment() -> None:
    default = Settings.from_env({}).service_levels
    assert [(level.name, level.threshold) for level in default] == [
        ("一星", 100),
        ("二星", 300),
        ("三星", 600),
        ("四星", 1000),
        ("五星", 1500),
    ]
    settings = Settings.from_env({"LIANXIN_SERVICE_LEVELS": "铜牌:20,银牌:50.5"})
    settings.validate()
    assert [(level.rank, level.name, level.threshold) for level in settings.service_levels] == [
        (1, "铜牌", 20),
        (2, "银牌", Decimal("50.50")),
    ]


def test_service_levels_built_in_code_are_checked_too() -> None:
    with pytest.raises(ConfigError, match="LIANXIN_SERVICE_LEVELS must rise"):
        Settings(service_levels=()).validate()
