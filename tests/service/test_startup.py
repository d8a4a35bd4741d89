from pathlib import Path

import pytest

from service.config import ConfigError, Settings
from service.startup import check_database


def test_an_unreachable_database_is_one_line_naming_where(tmp_path: Path) -> None:
    settings = Settings(
        instance_path=tmp_path, database_url="postgresql://nobody:secret@127.0.0.1:1/lianxin"
    )
    with pytest.raises(
        ConfigError, match=r"cannot reach the database at .*127\.0\.0\.1:1"
    ) as raised:
        check_database(settings)
    message = str(raised.value)
    assert "\n" not in message
    assert "secret" not in message


def test_an_unmigrated_database_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lianxin db upgrade"):
        check_database(Settings(instance_path=tmp_path))


def test_the_migrated_test_database_passes(backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def passes(settings: Settings) -> bool:
        try:
            check_database(settings)
        except ConfigError:
            return False
        return True

    assert passes(backend.settings())
    assert not passes(Settings(instance_path=tmp_path))  # the same check, no schema
