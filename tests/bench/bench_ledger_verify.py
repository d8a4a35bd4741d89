"""How long `lianxin ledger verify` takes, and how much memory, on a large ledger.

    .venv/bin/python -m tests.bench.bench_ledger_verify [--transfers 1000000]
        [--members 20000] [--database-url URL]

By default the ledger lives in a fresh temporary instance folder (SQLite). With
--database-url (an admin URL such as postgresql://postgres@127.0.0.1:5432/postgres) a
database lianxin_bench_<random> is created there for the run and dropped afterwards.

The ledger is written straight into the tables (executemany on SQLite, COPY on
PostgreSQL): going through `service.ledger.posting` row by row would take hours. The
generator keeps every account's totals the way `posting._move_totals` does, and the
幸福币 lots the way `lots.track` does, and never lets a member spend or reserve more than
they hold, so the ledger is consistent and the first verify must say "ledger clean".
Then one account's credits_posted is raised by one and verify must exit 1 naming that
account: proof that the timed run really checked.

Verify runs as the operator runs it, `lianxin ledger verify` in a child process, so the
figures include the command's start-up (about 3 s and 105 MiB of the figures); peak RSS
is the CLI's alone, from /usr/bin/time. On PostgreSQL the server's memory is not in it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import psycopg
from sqlalchemy.engine import URL

from service.config import Settings
from tests.bench.bench_roster_import import GIVEN, LIANXIN, SURNAMES, database

CURRENCIES = ("jifen", "xingfubi")
# Account ids are fixed by the generator: the three system accounts, then two per member.
ISSUANCE = {"jifen": 1, "xingfubi": 2}
SINK = 3  # sink:redeemed:1, 幸福币 handed over at station 1
FIRST_MEMBER_ACCOUNT = 4
TIME = Path("/usr/bin/time")
LIFETIME = timedelta(days=365)  # currency.expires_after_days, from migration 0003
STARTED = datetime(2025, 1, 1, tzinfo=UTC)
SECONDS_PER_TRANSFER = 30  # a million transfers span about a year
TRANSFERS_PER_DAY = 24 * 3600 // SECONDS_PER_TRANSFER

TRANSFER_COLUMNS = (
    "id",
    "idempotency_key",
    "kind",
    "phase",
    "currency",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "pending_id",
    "reverses_id",
    "source",
    "actor_id",
    "rule_set_version",
    "explanation",
    "created_at",
)
LOT_COLUMNS = ("id", "account_id", "transfer_id", "amount", "remaining", "expires_at")
TOTAL_COLUMNS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
# What one transfer adds to (debits_pending, debits_posted) of its debit account and to
# (credits_pending, credits_posted) of its credit account: points.ledger.contribution.
PHASE_DELTAS = {
    "posted": (0, 1),
    "pending": (1, 0),
    "post_pending": (-1, 1),
    "void_pending": (-1, 0),
}


def member_accounts(user_id: int) -> dict[str, int]:
    jifen = FIRST_MEMBER_ACCOUNT + 2 * (user_id - 1)
    return {"jifen": jifen, "xingfubi": jifen + 1}


class LotBook:
    """point_lot and point_lot_use as service.ledger.lots.track keeps them: a posted
    幸福币 credit to a member opens a lot; a posted or pending debit takes from the lots
    that expire first (all expire a year after their credit, so: oldest first); a void
    gives a hold's takings back to the lots they came from; a post changes nothing."""

    def __init__(self) -> None:
        # Per lot id (index 0 is no lot): account, transfer, amount, remaining, and the
        # lot's place in its account's list.
        self.account: list[int] = [0]
        self.transfer: list[int] = [0]
        self.amount: list[int] = [0]
        self.remaining: list[int] = [0]
        self.position: list[int] = [0]
        self.of_account: dict[int, list[int]] = defaultdict(list)
        self.first_unspent: dict[int, int] = defaultdict(int)
        self.uses: list[tuple[int, int, int]] = []  # (lot, transfer, amount)
        self.taken_by_hold: dict[int, list[tuple[int, int]]] = {}

    def track(self, transfer_id: int, phase: str, debit: int, credit: int, amount: int) -> None:
        if credit >= FIRST_MEMBER_ACCOUNT and phase == "posted":
            self.open(credit, transfer_id, amount)
        if debit >= FIRST_MEMBER_ACCOUNT and phase in ("posted", "pending"):
            taken = self.take(debit, transfer_id, amount)
            if phase == "pending":
                self.taken_by_hold[transfer_id] = taken

    def resolve(self, hold_id: int, transfer_id: int, *, hand_over: bool) -> None:
        taken = self.taken_by_hold.pop(hold_id)
        if hand_over:
            return
        for lot, amount in taken:
            self.remaining[lot] += amount
            self.uses.append((lot, transfer_id, -amount))
            account = self.account[lot]
            self.first_unspent[account] = min(self.first_unspent[account], self.position[lot])

    def open(self, account: int, transfer_id: int, amount: int) -> None:
        lots = self.of_account[account]
        self.position.append(len(lots))
        lots.append(len(self.account))
        self.account.append(account)
        self.transfer.append(transfer_id)
        self.amount.append(amount)
        self.remaining.append(amount)

    def take(self, account: int, transfer_id: int, amount: int) -> list[tuple[int, int]]:
        lots, index, taken = self.of_account[account], self.first_unspent[account], []
        while amount:
            lot = lots[index]  # an IndexError here means the generator overspent
            part = min(amount, self.remaining[lot])
            if part:
                self.remaining[lot] -= part
                self.uses.append((lot, transfer_id, part))
                taken.append((lot, part))
                amount -= part
            if not self.remaining[lot]:
                index += 1
        self.first_unspent[account] = index
        return taken

    def lot_rows(self, stamp: Callable[[datetime], object]) -> Iterator[tuple[Any, ...]]:
        for lot in range(1, len(self.account)):
            credited = STARTED + timedelta(seconds=self.transfer[lot] * SECONDS_PER_TRANSFER)
            amounts = (self.amount[lot], self.remaining[lot])
            yield (lot, self.account[lot], self.transfer[lot], *amounts, stamp(credited + LIFETIME))

    def use_rows(self) -> Iterator[tuple[int, int, int, int]]:
        for use_id, (lot, transfer_id, amount) in enumerate(self.uses, start=1):
            yield use_id, lot, transfer_id, amount


class LedgerGenerator:
    """A year of community life, one transfer at a time, in id order.

    Roughly: 2/3 earnings by rule, a few awards and deductions by staff, 幸福币 held for
    goods at a station and later handed over (85 %) or released, and now and then an
    earning reversed soon after it was made (an approval taken back)."""

    def __init__(self, members: int, seed: int, stamp: Callable[[datetime], object]) -> None:
        self.pick = random.Random(seed)  # noqa: S311 - test data, not secrets
        self.members = members
        self.stamp = stamp
        self.staff_id = members + 1
        # [debits_pending, debits_posted, credits_pending, credits_posted] per account id.
        self.totals = [[0, 0, 0, 0] for _ in range(FIRST_MEMBER_ACCOUNT + 2 * members)]
        self.open_holds: deque[tuple[int, int, int]] = deque()  # (id, account, amount)
        # Mistakes are noticed soon, so only recent earnings are ever reversed.
        self.recent: deque[tuple[int, str, int, int]] = deque(maxlen=2000)
        # A few members do most of the work: Pareto-distributed activity.
        weights = [self.pick.paretovariate(1.2) for _ in range(members)]
        self.cum_weights = list(itertools.accumulate(weights))
        self.user_ids = range(1, members + 1)
        self.lots = LotBook()
        self.next_id = 1

    def transfers(self, count: int) -> Iterator[tuple[Any, ...]]:
        actions = (
            (0.04, self.award),
            (0.06, self.deduct),
            (0.17, self.hold),
            (0.275, self.resolve),
            (0.295, self.reverse),
        )
        while self.next_id <= count:
            roll = self.pick.random()
            action = next((act for limit, act in actions if roll < limit), self.earn)
            # An action that isn't possible now (nothing to spend, no open hold) is an
            # earning instead, so the mix stays close to the thresholds above.
            yield action() or self.earn()

    def member(self) -> int:
        return self.pick.choices(self.user_ids, cum_weights=self.cum_weights)[0]

    def available(self, account: int) -> int:
        debits_pending, debits_posted, _, credits_posted = self.totals[account]
        return credits_posted - debits_posted - debits_pending

    def row(
        self,
        key: str,
        kind: str,
        currency: str,
        debit: int,
        credit: int,
        amount: int,
        *,
        phase: str = "posted",
        pending_id: int | None = None,
        reverses_id: int | None = None,
        source: str | None = None,
        actor_id: int | None = None,
        rule_set_version: str | None = None,
        explanation: str = "",
    ) -> tuple[Any, ...]:
        transfer_id = self.next_id
        self.next_id += 1
        pending, posted = PHASE_DELTAS[phase]
        debit_totals, credit_totals = self.totals[debit], self.totals[credit]
        debit_totals[0] += pending * amount
        debit_totals[1] += posted * amount
        credit_totals[2] += pending * amount
        credit_totals[3] += posted * amount
        if currency == "xingfubi":  # the currency that expires, so is kept in lots
            self.lots.track(transfer_id, phase, debit, credit, amount)
        created_at = self.stamp(STARTED + timedelta(seconds=transfer_id * SECONDS_PER_TRANSFER))
        return (
            transfer_id,
            key.format(id=transfer_id),
            kind,
            phase,
            currency,
            debit,
            credit,
            amount,
            pending_id,
            reverses_id,
            source.format(id=transfer_id) if source else None,
            actor_id,
            rule_set_version,
            explanation,
            created_at,
        )

    def earn(self) -> tuple[Any, ...]:
        currency = "jifen" if self.pick.random() < 0.55 else "xingfubi"
        account = member_accounts(self.member())[currency]
        amount = self.pick.randint(1, 20 if currency == "jifen" else 10)
        self.recent.append((self.next_id, currency, account, amount))
        return self.row(
            f"earn:participation:{{id}}:{currency}",
            "earn",
            currency,
            ISSUANCE[currency],
            account,
            amount,
            source="participation:{id}",
            rule_set_version="2025.1",
        )

    def award(self) -> tuple[Any, ...]:
        currency = self.pick.choice(CURRENCIES)
        account = member_accounts(self.member())[currency]
        amount = self.pick.randint(5, 50)
        return self.row(
            "award:{id}",
            "award",
            currency,
            ISSUANCE[currency],
            account,
            amount,
            actor_id=self.staff_id,
            explanation="优秀志愿者表彰",
        )

    def deduct(self) -> tuple[Any, ...] | None:
        currency = self.pick.choice(CURRENCIES)
        account = member_accounts(self.member())[currency]
        amount = self.pick.randint(1, 10)
        if self.available(account) < amount:
            return None
        return self.row(
            "deduct:{id}",
            "deduct",
            currency,
            account,
            ISSUANCE[currency],
            amount,
            actor_id=self.staff_id,
            explanation="重复登记,扣回",
        )

    def hold(self) -> tuple[Any, ...] | None:
        account = member_accounts(self.member())["xingfubi"]
        amount = self.pick.randint(5, 30)
        if self.available(account) < amount:
            return None
        self.open_holds.append((self.next_id, account, amount))
        return self.row(
            "redeem:{id}:hold",
            "redeem_hold",
            "xingfubi",
            account,
            SINK,
            amount,
            phase="pending",
            source="redemption:{id}",
        )

    def resolve(self) -> tuple[Any, ...] | None:
        """Settle the oldest open hold: pick-ups happen in roughly the order booked, a
        day or more later, so the last day's holds are still open at the end."""
        if not self.open_holds or self.next_id - self.open_holds[0][0] < TRANSFERS_PER_DAY:
            return None
        hold_id, account, amount = self.open_holds.popleft()
        hand_over = self.pick.random() < 0.85
        self.lots.resolve(hold_id, self.next_id, hand_over=hand_over)
        return self.row(
            f"redeem:{hold_id}:{'post' if hand_over else 'void'}",
            "redeem_post" if hand_over else "redeem_void",
            "xingfubi",
            account,
            SINK,
            amount,
            phase="post_pending" if hand_over else "void_pending",
            pending_id=hold_id,
            source=f"redemption:{hold_id}",
        )

    def reverse(self) -> tuple[Any, ...] | None:
        if not self.recent:
            return None
        index = self.pick.randrange(len(self.recent))
        earn_id, currency, account, amount = self.recent[index]
        if self.available(account) < amount:  # already spent: posting.reverse refuses too
            return None
        del self.recent[index]  # reverses_id is unique: once only
        return self.row(
            f"reverse:{earn_id}",
            "reverse",
            currency,
            account,
            ISSUANCE[currency],
            amount,
            reverses_id=earn_id,
            source=f"participation:{earn_id}",
            actor_id=self.staff_id,
            explanation=f"reverses transfer {earn_id}: 审核撤销",
        )


class Loader(Protocol):
    def load(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None: ...

    def execute(self, sql: str) -> None: ...


class SqliteLoader:
    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        # A bulk load into a scratch file: durability buys nothing here. Foreign keys
        # stay on, so the load itself proves every reference resolves.
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("PRAGMA foreign_keys=ON")
        self.connection.execute("BEGIN")

    def load(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        marks = ", ".join("?" for _ in columns)
        self.connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
            rows,
        )

    def execute(self, sql: str) -> None:
        self.connection.execute(sql)

    def finish(self) -> None:
        self.connection.execute("COMMIT")
        # Leave the file as a running system would: everything in the main database,
        # not a gigabyte of WAL for verify to read through.
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.connection.close()


TABLES_WITH_IDS = ("app_user", "ledger_account", "ledger_transfer", "point_lot", "point_lot_use")


class PostgresLoader:
    def __init__(self, url: str) -> None:
        self.connection = psycopg.connect(url)

    def load(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        with (
            self.connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def execute(self, sql: str) -> None:
        self.connection.execute(sql)

    def finish(self) -> None:
        # Explicit ids bypassed the sequences; move them past the data.
        for table in TABLES_WITH_IDS:
            self.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608
            )
        self.connection.commit()
        # Autovacuum would have analysed a year-old table; without statistics the
        # planner guesses, and verify's timing would be about a fresh table.
        self.connection.autocommit = True
        self.execute("VACUUM ANALYZE")
        self.connection.close()


def sqlite_stamp(moment: datetime) -> str:
    # How SQLAlchemy stores a UTCDateTime in SQLite: naive UTC text.
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def postgres_stamp(moment: datetime) -> datetime:
    return moment


def load_people_and_accounts(loader: Loader, members: int, stamp: Callable[..., object]) -> None:
    pick = random.Random(members)  # noqa: S311 - test data, not secrets
    now = stamp(STARTED)
    users = (
        (
            user_id,
            pick.choice(SURNAMES) + "".join(pick.choices(GIVEN, k=pick.randint(1, 2))),
            now,
        )
        for user_id in range(1, members + 2)  # the members, then one staff member
    )
    loader.load("app_user", ("id", "name", "created_at"), users)
    system = [
        (ISSUANCE["jifen"], "jifen", None, "issuance:1", False, now),
        (ISSUANCE["xingfubi"], "xingfubi", None, "issuance:1", False, now),
        (SINK, "xingfubi", None, "sink:redeemed:1", True, now),
    ]
    people = (
        (account, currency, user_id, None, True, now)
        for user_id in range(1, members + 1)
        for currency, account in member_accounts(user_id).items()
    )
    columns = ("id", "currency", "user_id", "system_key", "no_overdraft", "created_at")
    loader.load("ledger_account", columns, itertools.chain(system, people))


def store_totals(loader: Loader, totals: list[list[int]]) -> None:
    """Every account's four totals, as the generator kept them, in one UPDATE."""
    loader.execute(
        "CREATE TEMPORARY TABLE bench_totals (id INTEGER PRIMARY KEY, debits_pending BIGINT, "
        "debits_posted BIGINT, credits_pending BIGINT, credits_posted BIGINT)"
    )
    rows = ((account, *sums) for account, sums in enumerate(totals) if any(sums))
    loader.load("bench_totals", ("id", *TOTAL_COLUMNS), rows)
    assignments = ", ".join(f"{column} = t.{column}" for column in TOTAL_COLUMNS)
    loader.execute(
        f"UPDATE ledger_account SET {assignments} FROM bench_totals t "  # noqa: S608
        "WHERE ledger_account.id = t.id"
    )


@dataclass(frozen=True)
class Loaded:
    seconds: float
    accounts: int
    kinds: dict[str, int]
    lots: int
    lot_uses: int


def load_ledger(url: URL, transfers: int, members: int) -> Loaded:
    started = time.perf_counter()
    loader: SqliteLoader | PostgresLoader
    stamp: Callable[[datetime], object]
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        loader, stamp = SqliteLoader(url.database), sqlite_stamp
    else:
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        loader, stamp = PostgresLoader(plain), postgres_stamp
    load_people_and_accounts(loader, members, stamp)
    generator = LedgerGenerator(members, seed=20250101, stamp=stamp)
    kinds: dict[str, int] = {}

    def counted(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        for row in rows:
            kinds[row[2]] = kinds.get(row[2], 0) + 1
            yield row

    loader.load("ledger_transfer", TRANSFER_COLUMNS, counted(generator.transfers(transfers)))
    lots = generator.lots
    loader.load("point_lot", LOT_COLUMNS, lots.lot_rows(stamp))
    loader.load("point_lot_use", ("id", "lot_id", "transfer_id", "amount"), lots.use_rows())
    store_totals(loader, generator.totals)
    loader.finish()
    accounts = len(generator.totals) - 1  # index 0 is no account
    seconds = time.perf_counter() - started
    return Loaded(seconds, accounts, kinds, len(lots.account) - 1, len(lots.uses))


@dataclass(frozen=True)
class Run:
    exit_code: int
    seconds: float
    peak_rss_mib: float
    output: str

    @property
    def own_seconds(self) -> str:
        """The time verify reports for itself, without the command's start-up."""
        found = re.search(r"in ([\d.]+) s", self.output)
        return found.group(1) if found else "?"


def lianxin(env: dict[str, str], *args: str) -> Run:
    """Run the CLI, keeping stderr (where verify names problems), and measure its peak RSS.

    Not with wait4 on our own child, as the roster bench does: the kernel counts in a
    child's ru_maxrss the pages it had between fork and exec, a copy of this process,
    which is large after generating a ledger. /usr/bin/time forks the CLI from its own
    small process, so the figure it reports is the CLI's alone."""
    with tempfile.NamedTemporaryFile("r", prefix="lianxin-rss-") as rss:
        timed = TIME.exists()
        command = [str(TIME), "-f", "%M", "-o", rss.name] if timed else []
        started = time.perf_counter()
        completed = subprocess.run(
            [*command, str(LIANXIN), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        seconds = time.perf_counter() - started
        # time writes "Command exited with non-zero status 1" first when it does.
        kib = int(rss.read().split()[-1]) if timed else max_child_rss_kib()
    return Run(completed.returncode, seconds, kib / 1024, completed.stdout.decode().strip())


def max_child_rss_kib() -> int:
    """Without /usr/bin/time: the largest of our children so far, an upper bound."""
    print("no /usr/bin/time: peak RSS is an upper bound", file=sys.stderr)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def corrupt_one_account(url: URL, members: int) -> int:
    """Raise one member account's credits_posted by one, as a lost update would; returns
    its id. A mid-table account, so neither the first nor the last row is what's caught."""
    account = member_accounts(members // 2)["xingfubi"]
    # An int of our own, not input: formatting it in is safe and works on both drivers.
    sql = f"UPDATE ledger_account SET credits_posted = credits_posted + 1 WHERE id = {account}"  # noqa: S608
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        with closing(sqlite3.connect(url.database)) as lite, lite:
            lite.execute(sql)
    else:
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(plain) as postgres:
            postgres.execute(sql)
    return account


def check(run: Run, *, clean: bool, account: int | None = None) -> None:
    if clean and (run.exit_code != 0 or "ledger clean" not in run.output):
        raise SystemExit(f"verify found problems in the generated ledger:\n{run.output}")
    if not clean and (run.exit_code != 1 or f"account {account} (" not in run.output):
        raise SystemExit(f"verify missed the corrupted account {account}:\n{run.output}")


def report(backend: str, transfers: int, loaded: Loaded, clean: Run, corrupted: Run) -> None:
    mix = ", ".join(f"{kind} {count:,}" for kind, count in sorted(loaded.kinds.items()))
    print(f"mix              {mix}")
    print(f"lots             {loaded.lots:,} lots, {loaded.lot_uses:,} uses")
    print(f"clean verify     {clean.output.splitlines()[-1]}")
    print("corrupted verify")
    for line in corrupted.output.splitlines():
        print(f"    {line.strip()}")
    print()
    header = ("run", "transfers", "accounts", "load s", "verify s", "own s", "peak RSS MiB")
    print(f"{header[0]:<22}" + "".join(f"{h:>13}" for h in header[1:]))
    for label, run in ((f"{backend} clean", clean), (f"{backend} corrupted", corrupted)):
        cells = (
            f"{transfers:,}",
            f"{loaded.accounts:,}",
            f"{loaded.seconds:.1f}",
            f"{run.seconds:.1f}",
            run.own_seconds,
            f"{run.peak_rss_mib:.0f}",
        )
        print(f"{label:<22}" + "".join(f"{c:>13}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--database-url", help="PostgreSQL admin URL (default: SQLite)")
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="lianxin-bench-") as tmp,
        database(options.database_url) as database_url,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")}
        env.update(LIANXIN_INSTANCE_PATH=str(Path(tmp) / "instance"), LIANXIN_ENV="development")
        if database_url:
            env["LIANXIN_DATABASE_URL"] = database_url
        url = Settings.from_env(env).sqlalchemy_url
        upgrade = lianxin(env, "db", "upgrade")
        if upgrade.exit_code != 0:
            raise SystemExit(f"lianxin db upgrade failed:\n{upgrade.output}")

        loaded = load_ledger(url, options.transfers, options.members)
        clean = lianxin(env, "ledger", "verify")
        check(clean, clean=True)
        account = corrupt_one_account(url, options.members)
        corrupted = lianxin(env, "ledger", "verify")
        check(corrupted, clean=False, account=account)

    print(f"backend          {url.get_backend_name()} ({os.cpu_count()} CPUs)")
    report(url.get_backend_name(), options.transfers, loaded, clean, corrupted)


if __name__ == "__main__":
    main()
