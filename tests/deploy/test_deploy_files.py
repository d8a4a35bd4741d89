"""The deployment files: valid against their schemas, and true to the code they deploy.

Schema checks run `deploy/check` (offline: schemas ship in PyPI packages). The rest
reads the files and holds them against the app: every scheduled or served command
is a real `lianxin` command, every probe path is a real public route, nginx lets
through what the app accepts, and every LIANXIN_* name is one the code reads.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import crossplane
import pytest
import yaml
from flask import Flask
from werkzeug.exceptions import HTTPException

from api.authentication import is_public
from api.cli import cli
from service.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHECK = DEPLOY / "check"

# Commands the deployment files already run that other branches are adding. The lead
# empties this at merge; test_not_yet_present_commands_are_really_missing says when.
NOT_YET_PRESENT: frozenset[tuple[str, ...]] = frozenset({})
# Names the deployment files may set that are not settings of the app itself.
NOT_APP_SETTINGS = frozenset({"LIANXIN_IMAGE"})  # compose: which image to run


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def kubernetes_documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted((DEPLOY / "k8s").rglob("*.yaml")):
        if path.name != "kustomization.yaml":
            for document in yaml_documents(path):
                yield path, document


def containers(node: Any) -> Iterator[dict[str, Any]]:
    """Every container spec anywhere in a manifest (Deployment, Job, CronJob…)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers"):
                yield from value
            else:
                yield from containers(value)
    elif isinstance(node, list):
        for item in node:
            yield from containers(item)


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


def crontab_commands() -> list[list[str]]:
    lines = (DEPLOY / "crontab").read_text().splitlines()
    return [shlex.split(line)[5:] for line in lines if line.strip() and not line.startswith("#")]


def systemd_exec_starts() -> dict[str, list[str]]:
    starts = {}
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                starts[unit.name] = shlex.split(line.removeprefix("ExecStart="))
    return starts


def lianxin_invocations() -> list[tuple[str, list[str]]]:
    """(where, arguments after `lianxin`) for every place a deployment runs lianxin."""
    found: list[tuple[str, list[str]]] = []
    for command in crontab_commands():
        assert command[0] == "lianxin", command
        found.append(("crontab", command[1:]))
    for path, document in kubernetes_documents():
        for container in containers(document):
            command = container.get("command") or []
            assert command, (path.name, container["name"])
            assert command[0] == "lianxin", (path.name, container["name"])
            found.append((f"{path.name}:{document['metadata']['name']}", command[1:]))
    for name, service in compose()["services"].items():
        image = str(service.get("image", ""))
        if image.startswith("${LIANXIN_IMAGE") and "entrypoint" not in service:
            found.append((f"compose:{name}", service["command"]))
    for unit, command in systemd_exec_starts().items():
        assert command[0] == "/opt/lianxin/bin/lianxin", unit
        found.append((unit, command[1:]))
    return found


def resolve(arguments: list[str]) -> tuple[str, ...] | None:
    """The command path that `lianxin ARGUMENTS` runs, or None if there is none."""
    command: click.Command = cli
    path: list[str] = []
    for word in arguments:
        if not isinstance(command, click.Group) or word.startswith("-"):
            break
        sub = command.commands.get(word)
        if sub is None:
            return None
        command, path = sub, [*path, word]
    if isinstance(command, click.Group):
        return None  # a group alone only prints its help
    return tuple(path)


def command_words(arguments: list[str]) -> tuple[str, ...]:
    words = []
    for word in arguments:
        if word.startswith("-"):
            break
        words.append(word)
    return tuple(words)


# --- schemas and parsers -----------------------------------------------------------


def run_check(deploy_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), "--deploy-dir", str(deploy_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_deploy_check_passes() -> None:
    result = run_check(DEPLOY)
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("compose", "kubernetes", "nginx", "systemd", "crontab"):
        assert f"ok   {check}" in result.stdout


# check: (file, text, broken text, what the failure must name)
BREAKAGES = {
    "compose": (
        "docker-compose.yml",
        "    stop_grace_period: 40s\n",
        "    stop_grace: 40s\n",
        "docker-compose.yml",
    ),
    "kubernetes": (
        "k8s/api-deployment.yaml",
        "readOnlyRootFilesystem",
        "readOnlyRootFileSystem",
        "api-deployment.yaml",
    ),
    "kustomization": ("k8s/kustomization.yaml", "  - pdb.yaml\n", "", "pdb.yaml"),
    "nginx": (
        "nginx/lianxin.conf",
        "client_max_body_size 6m;",
        "client_max_body_size;",
        "client_max_body_size",
    ),
    "systemd": (
        "systemd/lianxin-api.service",
        "NoNewPrivileges=yes",
        "NoNewPrivilege=yes",
        "lianxin-api.service",
    ),
    "crontab": ("crontab", "10 16 * * * lianxin", "10 16 * * lianxin", "crontab:"),
}


@pytest.mark.parametrize("broken", sorted(BREAKAGES))
def test_deploy_check_catches_a_broken_file(broken: str, tmp_path: Path) -> None:
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    relative, old, new, named = BREAKAGES[broken]
    target = copy / relative
    assert old in target.read_text()
    target.write_text(target.read_text().replace(old, new, 1))
    result = run_check(copy)
    assert result.returncode == 1, result.stdout
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failures, result.stdout
    # Only the broken file is reported, and by name.
    assert all(named in line for line in failures), failures


# --- the commands deployments run ----------------------------------------------------


def test_every_command_a_deployment_runs_exists() -> None:
    missing = []
    for where, arguments in lianxin_invocations():
        if resolve(arguments) is None and command_words(arguments) not in NOT_YET_PRESENT:
            missing.append(f"{where}: lianxin {' '.join(arguments)}")
    assert not missing, "not lianxin commands:\n" + "\n".join(missing)


def test_not_yet_present_commands_are_really_missing_and_used() -> None:
    used = {command_words(arguments) for _, arguments in lianxin_invocations()}
    for words in NOT_YET_PRESENT:
        assert resolve(list(words)) is None, (
            f"`lianxin {' '.join(words)}` exists now: remove it from NOT_YET_PRESENT"
        )
        assert words in used, f"nothing runs `lianxin {' '.join(words)}`: drop it from the list"


def test_the_resolver_tells_commands_from_groups_and_typos() -> None:
    assert resolve(["points", "expire", "--now", "2026-01-01"]) == ("points", "expire")
    assert resolve(["db", "upgrade"]) == ("db", "upgrade")
    assert resolve(["points"]) is None
    assert resolve(["points", "expier"]) is None


def scheduled_in_kubernetes() -> set[tuple[str, ...]]:
    return {
        command_words(container["command"][1:])
        for _, document in kubernetes_documents()
        if document["kind"] == "CronJob"
        for container in containers(document)
    }


def test_compose_kubernetes_and_systemd_schedule_the_same_jobs() -> None:
    cron = {command_words(command[1:]) for command in crontab_commands()}
    timers = {
        command_words(systemd_exec_starts()[timer.with_suffix(".service").name][1:])
        for timer in (DEPLOY / "systemd").glob("*.timer")
    }
    assert cron == scheduled_in_kubernetes() == timers
    assert ("points", "expire") in cron
    assert ("redemptions", "expire") in cron
    assert ("leaderboard", "reconcile") in cron
    assert ("uploads", "prune") in cron
    assert ("idempotency", "purge") in cron


def test_cronjobs_never_overlap() -> None:
    for path, document in kubernetes_documents():
        if document["kind"] == "CronJob":
            assert document["spec"]["concurrencyPolicy"] == "Forbid", path


def test_the_api_and_worker_run_everywhere() -> None:
    services = compose()["services"]
    assert services["api"]["command"] == ["serve"]
    assert services["worker"]["command"] == ["worker"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["api"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    units = systemd_exec_starts()
    assert units["lianxin-api.service"][1:] == ["serve"]
    assert units["lianxin-worker.service"][1:] == ["worker"]
    assert units["lianxin-migrate.service"][1:] == ["db", "upgrade"]


# --- probes, limits, timeouts ---------------------------------------------------------


def assert_public_route(app: Flask, path: str) -> None:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException as error:
        raise AssertionError(f"{path} is not a route of the app: {error}") from None
    assert is_public(endpoint), f"{path} needs a token; a probe has none"


def test_probe_paths_are_public_routes(app: Flask) -> None:
    healthcheck = " ".join(compose()["services"]["api"]["healthcheck"]["test"])
    [compose_path] = re.findall(r"http://127\.0\.0\.1:8000(/[a-z]+)", healthcheck)
    [docker_path] = re.findall(
        r"http://127\.0\.0\.1:8000(/[a-z]+)", (DEPLOY / "Dockerfile").read_text()
    )
    probes = [compose_path, docker_path]
    for _, document in kubernetes_documents():
        for container in containers(document):
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                if probe in container:
                    probes.append(container[probe]["httpGet"]["path"])
    assert {"/healthz", "/readyz"} <= set(probes)
    for path in probes:
        assert_public_route(app, path)


def nginx_server_directives() -> dict[str, list[str]]:
    parsed = crossplane.parse(str(DEPLOY / "nginx" / "lianxin.conf"), check_ctx=False)
    [config] = parsed["config"]
    servers = [d for d in config["parsed"] if d["directive"] == "server"]
    https = next(s for s in servers if any("ssl" in d["args"] for d in s["block"]))
    return {d["directive"]: d["args"] for d in https["block"] if d["directive"] != "location"}


def nginx_size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


def nginx_seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(s|m)?", value).groups()  # type: ignore[union-attr]
    return int(number) * (60 if unit == "m" else 1)


def test_nginx_lets_through_every_upload_the_app_accepts() -> None:
    upload_limit = Settings().upload_max_bytes
    [body_limit] = nginx_server_directives()["client_max_body_size"]
    assert nginx_size(body_limit) >= upload_limit
    # ...and no more than the app reads at all, so nginx refuses the rest early.
    assert nginx_size(body_limit) <= Settings().max_request_bytes


def test_nginx_waits_as_long_as_the_mini_program_and_longer_than_gunicorn() -> None:
    directives = nginx_server_directives()
    wx_request_timeout = 60  # wx.request's default and maximum, in seconds
    [read_timeout] = directives["proxy_read_timeout"]
    assert nginx_seconds(read_timeout) == wx_request_timeout
    gunicorn = (DEPLOY / "gunicorn.conf.py").read_text()
    [worker_timeout] = re.findall(r'"LIANXIN_TIMEOUT", "(\d+)"', gunicorn)
    assert int(worker_timeout) < wx_request_timeout


def test_nginx_forwards_request_ids_and_client_addresses_and_hides_metrics() -> None:
    text = (DEPLOY / "nginx" / "lianxin.conf").read_text()
    assert "proxy_set_header X-Request-ID $lianxin_request_id;" in text
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text
    assert re.search(r"location = /metrics \{\s*deny all;\s*\}", text)
    assert "return 301 https://$host$request_uri;" in text


# --- the image and the settings -------------------------------------------------------


def test_dockerfile_runs_as_non_root_and_copies_what_exists() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    [user] = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    assert not user.startswith(("root", "0:"))
    assert user != "0"
    assert 'ENTRYPOINT ["lianxin"]' in dockerfile
    for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile, flags=re.MULTILINE):
        *sources, _ = line.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"


def settings_the_code_reads() -> set[str]:
    code = [ROOT / "service" / "config.py", DEPLOY / "gunicorn.conf.py", ROOT / "api" / "cli.py"]
    return {name for path in code for name in re.findall(r"LIANXIN_[A-Z_]+", path.read_text())}


def settings_the_deployments_set() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}

    def add(name: str, where: str) -> None:
        found.setdefault(name, set()).add(where)

    for line in (DEPLOY / "env.example").read_text().splitlines():
        if line.startswith("LIANXIN_"):
            add(line.partition("=")[0], "env.example")
    for path, document in kubernetes_documents():
        for key in {**document.get("data", {}), **document.get("stringData", {})}:
            add(key, path.name)
        for container in containers(document):
            for variable in container.get("env", []):
                add(variable["name"], path.name)
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for name in re.findall(r"^Environment=(LIANXIN_[A-Z_]+)=", unit.read_text(), re.M):
            add(name, unit.name)
    for name in re.findall(r"\b(LIANXIN_[A-Z_]+)=", (DEPLOY / "Dockerfile").read_text()):
        add(name, "Dockerfile")
    return found


def test_every_setting_a_deployment_sets_is_one_the_code_reads() -> None:
    known = settings_the_code_reads() | NOT_APP_SETTINGS
    unknown = {
        name: sorted(where)
        for name, where in settings_the_deployments_set().items()
        if name.startswith("LIANXIN_") and name not in known
    }
    # A misspelt name is silently ignored and the default applies.
    assert not unknown


def test_production_secrets_are_placeholders_that_production_refuses() -> None:
    env_example = dict(
        line.split("=", 1)
        for line in (DEPLOY / "env.example").read_text().splitlines()
        if line.startswith("LIANXIN_")
    )
    [secret] = [d for _, d in kubernetes_documents() if d["kind"] == "Secret"]
    for values in (env_example, secret["stringData"]):
        for name in ("LIANXIN_SECRET_KEY", "LIANXIN_DATA_KEY", "LIANXIN_WECHAT_SECRET"):
            assert values[name] == "REPLACE_ME", name
    assert "lianxin.env" in (DEPLOY / ".gitignore").read_text().split()
