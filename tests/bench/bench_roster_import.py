"""How long `lianxin import roster` takes on a realistic roster.

    .venv/bin/python -m tests.bench.bench_roster_import [--rows 10000] [--database-url URL]

By default everything lives in a fresh temporary instance folder (SQLite file and
embedded Redis). With --database-url (an admin URL such as
postgresql://postgres@127.0.0.1:5432/postgres) a database lianxin_bench_<random> is
created there for the run and dropped afterwards.

The import runs as the operator runs it, `lianxin import roster FILE` in a child
process, so the figures include start-up; "start-up" below is the same command on a
header-only file. The roster is imported twice: the second run finds everyone.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from service.config import Settings
from service.organisation.models import Branch, Department
from service.places.models import Place

STREET = "连心街道"
COMMUNITIES = [
    f"{name}社区"
    for name in ("幸福", "和平", "光明", "团结", "友谊", "振兴", "新华", "建设", "胜利", "东风")
]
GRIDS_PER_COMMUNITY = 8
DEPARTMENTS = ("区民政局", "区委组织部", "区卫健委", "区城管局", "区教育局")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国"
ROLES = ("党员", "党员", "党员", "志愿者", "居民", "member", "")
LIANXIN = Path(sys.executable).with_name("lianxin")


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mib: float
    output: str


def lianxin(env: dict[str, str], *args: str) -> Run:
    """Run the CLI and measure it alone: wait4 gives this child's own peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(LIANXIN), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    output = process.stdout.read().decode()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise SystemExit(f"lianxin {' '.join(args)} failed ({process.returncode}): {output}")
    return Run(seconds, usage.ru_maxrss / 1024, output.strip())


@contextmanager
def database(admin_url: str | None) -> Iterator[str | None]:
    if admin_url is None:
        yield None
        return
    url = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"lianxin_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def write_places(path: Path) -> list[tuple[str, str]]:
    """The place tree as an XLSX for `lianxin import places`; returns the grids."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["路径", "层级"])
    sheet.append([STREET, "街道"])
    grids = []
    for community in COMMUNITIES:
        sheet.append([f"{STREET}/{community}", "社区"])
        for n in range(1, GRIDS_PER_COMMUNITY + 1):
            # Every community has a 第N网格, so a bare grid name is ambiguous on purpose.
            sheet.append([f"{STREET}/{community}/第{n}网格", "网格"])
            grids.append((community, f"第{n}网格"))
    workbook.save(path)
    return grids


def add_branches(settings: Settings) -> None:
    engine = create_engine(settings.sqlalchemy_url)
    with Session(engine) as session:
        for community in session.query(Place).filter(Place.level == "community"):
            session.add(Branch(name=f"{community.name}党支部", place_id=community.id))
        for name in DEPARTMENTS:
            department = Department(name=name)
            session.add(department)
            session.flush()
            session.add(Branch(name="机关第一支部", department_id=department.id))
        session.commit()
    engine.dispose()


def write_roster(path: Path, rows: int, grids: list[tuple[str, str]]) -> None:
    pick = random.Random(20240501)  # noqa: S311 - test data, not secrets
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["姓名", "手机号码", "所在支部", "居住地", "身份"])
    for n in range(rows):
        community, grid = pick.choice(grids)
        number = 13000000000 + n * 7919 % 999_999_999
        phone: object = float(number) if n % 2 else f"{number // 10**8} {number % 10**8:08d}"
        branch = f"{pick.choice(DEPARTMENTS)}/机关第一支部" if n % 3 == 0 else f"{community}党支部"
        name = pick.choice(SURNAMES) + "".join(pick.choices(GIVEN, k=pick.randint(1, 2)))
        sheet.append([name, phone, branch, f"{community}/{grid}", pick.choice(ROLES)])
    workbook.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", help="PostgreSQL admin URL (default: SQLite)")
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="lianxin-bench-") as tmp,
        database(options.database_url) as database_url,
    ):
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")}
        env.update(LIANXIN_INSTANCE_PATH=str(folder / "instance"), LIANXIN_ENV="development")
        if database_url:
            env["LIANXIN_DATABASE_URL"] = database_url
        settings = Settings.from_env(env)
        backend = settings.sqlalchemy_url.get_backend_name()

        lianxin(env, "db", "upgrade")
        grids = write_places(folder / "places.xlsx")
        places = lianxin(env, "import", "places", str(folder / "places.xlsx"))
        add_branches(settings)
        write_roster(folder / "header.xlsx", 0, grids)
        started = time.perf_counter()
        write_roster(folder / "roster.xlsx", options.rows, grids)
        written = time.perf_counter() - started

        startup = lianxin(env, "import", "roster", str(folder / "header.xlsx"))
        first = lianxin(env, "import", "roster", str(folder / "roster.xlsx"))
        again = lianxin(env, "import", "roster", str(folder / "roster.xlsx"))

    print(f"backend          {backend} ({os.cpu_count()} CPUs)")
    print(f"places           {places.output}")
    print(f"roster written   {options.rows:,} rows in {written:.1f} s")
    print(f"start-up         {startup.seconds:.2f} s, peak RSS {startup.peak_rss_mib:.0f} MiB")
    for label, run in (("first import", first), ("second import", again)):
        rate = options.rows / run.seconds
        print(
            f"{label:<16} {options.rows:,} rows in {run.seconds:.2f} s = {rate:,.0f} rows/s, "
            f"peak RSS {run.peak_rss_mib:.0f} MiB  [{run.output}]"
        )


if __name__ == "__main__":
    main()
