from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

from api.cli import cli
from tests.conftest import Backend

LIANXIN = str(Path(sys.executable).with_name("lianxin"))


def test_demo_seed_json_prints_the_documented_shape(runner: FlaskCliRunner) -> None:
    result = runner.invoke(cli, ["demo", "seed", "--json"])
    assert result.exit_code == 0, result.output
    world = json.loads(result.output)
    assert {"places", "users", "stations", "tasks"} <= set(world)
    assert {"departments", "branches", "pairings"} <= set(world)
    assert set(world["places"][0]) == {"id", "name", "level", "parent_id"}
    staff = next(u for u in world["users"] if u["openid"] == "demo-staff-1")
    [role] = staff["roles"]
    assert role["role"] == "staff"
    assert role["scope_type"] == "org"
    community = next(p for p in world["places"] if p["id"] == role["scope_id"])
    assert community["level"] == "community"


def test_demo_seed_prints_who_to_sign_in_as(runner: FlaskCliRunner) -> None:
    result = runner.invoke(cli, ["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "demo-staff-1" in result.output
    assert "the sign-in code is the openid" in result.output
    assert "/api/v1/auth/wechat" in result.output


def run_lianxin(backend: Backend, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LIANXIN, *args],
        env=backend.environ(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("serve",), {"LIANXIN_ENV": "production"}, "LIANXIN_SECRET_KEY"),
        (("serve",), {"LIANXIN_DATABASE_URL": "no-such-scheme"}, "not a database URL"),
        (
            ("serve",),
            {"LIANXIN_DATABASE_URL": "postgresql://lx@127.0.0.1:1/lx"},
            "cannot reach the database",
        ),
        (
            ("db", "upgrade"),
            {"LIANXIN_DATABASE_URL": "postgresql://lx@127.0.0.1:1/lx"},
            "database:",
        ),
        (("demo", "seed"), {"LIANXIN_WECHAT_MODE": "sandbox"}, "LIANXIN_WECHAT_MODE"),
    ],
)
def test_bad_configuration_stops_with_one_line(
    backend: Backend, args: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    result = run_lianxin(backend, *args, **env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert says in lines[0]


def test_serve_refuses_an_unmigrated_database(backend: Backend, tmp_path: Path) -> None:
    result = run_lianxin(backend, "serve", LIANXIN_DATABASE_URL=f"sqlite:///{tmp_path}/empty.db")
    assert result.returncode != 0
    assert "run `lianxin db upgrade` first" in result.stderr
