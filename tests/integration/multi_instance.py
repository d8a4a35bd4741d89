"""Several Lianxin instances on one machine, sharing one PostgreSQL database and one
Redis (the run's key prefix): the world they serve, the gunicorn processes, a
round-robin client, and the mixed load a community's day puts on them.

Used by test_multi_instance.py (the short version CI runs) and by
``python -m tests.bench.multi_instance`` (the longer standalone run).
"""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from flask import Flask

from api import extensions
from points.access import Role, ScopeType
from points.calendar import local_date
from points.places import PlaceLevel
from points.rules import Category, TaskType, WorkUnit
from points.tasks import CheckinMode, TaskStatus
from service.db import utcnow
from service.leaderboards.rebuild import Selection, regenerate
from service.organisation.models import Station
from service.people.directory import ensure_grant
from service.people.models import User
from service.places.tree import add_place
from service.stations.models import CatalogueItem
from service.tasks.models import Task
from tests.all_at_once import all_at_once
from tests.conftest import Backend
from tests.integration.seeding import SITE, publish_starter_rules
from tests.integration.serving import LIANXIN, free_port, wait_ready
from tests.wechat_stub import WechatStub

T = TypeVar("T")

# A door-knocking visit to three households: the starter rules pay 5 + 2 × 3 = 11 积分
# and 2 + 1 × 3 = 5 幸福币, so each member can afford exactly one item at PRICE.
HOUSEHOLDS = 3
EARNED = {"jifen": 11, "xingfubi": 5}
PRICE = 5
INSIDE_FENCE = {"lat": SITE[0] + 0.0002, "lng": SITE[1] + 0.0002, "accuracy": 15.0}


# --- the world ----------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    community: int
    staff_openid: str
    member_openids: list[str]
    task_id: int
    item_id: int
    stock: int

    def sign_in_codes(self) -> dict[str, str]:
        """The wx.login code each person's phone will send (openid → code)."""
        return {openid: f"code-{openid}" for openid in [self.staff_openid, *self.member_openids]}


def seed_world(app: Flask, *, members: int, stock: int) -> World:
    """A street with the starter rules published, a community with its staff member, a
    grid of ``members`` party members known by their openids, a door-knocking task on
    now, and the community's station with an item ``stock`` of which are on the shelf."""
    now = utcnow()
    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        session = extensions.session()
        street = add_place(session, None, f"多实例街道{tag}", PlaceLevel.STREET)
        community = add_place(session, street, "多实例社区", PlaceLevel.COMMUNITY)
        grid = add_place(session, community, "多实例网格", PlaceLevel.GRID)
        publish_starter_rules(session, street, local_date(now) - timedelta(days=30))

        def person(openid: str, name: str, role: Role, scope: int) -> User:
            user = User(openid=openid, name=name, residence_place_id=grid.id)
            session.add(user)
            session.flush()
            ensure_grant(session, user, role, ScopeType.PLACE, scope)
            return user

        staff = person(f"multi-{tag}-staff", "社工", Role.STAFF, community.id)
        openids = [f"multi-{tag}-{n}" for n in range(members)]
        for number, openid in enumerate(openids):
            person(openid, f"党员{number}", Role.MEMBER, grid.id)
        task = Task(
            place_id=community.id,
            title="敲门行动",
            category=Category.SERVICE.value,
            type=TaskType.DOOR_KNOCK.value,
            lat=SITE[0],
            lng=SITE[1],
            radius_m=300,
            starts_at=now - timedelta(minutes=10),
            ends_at=now + timedelta(hours=3),
            capacity=members,
            audience="everyone",
            checkin_mode=CheckinMode.GEOFENCE.value,
            work_unit=WorkUnit.HOUSEHOLDS.value,
            status=TaskStatus.PUBLISHED.value,
            created_by_id=staff.id,
        )
        station = Station(place_id=community.id, name="小蜜蜂驿站", lat=SITE[0], lng=SITE[1])
        session.add_all([task, station])
        session.flush()
        item = CatalogueItem(
            station_id=station.id, name="洗衣液", price=PRICE, currency="xingfubi", stock=stock
        )
        session.add(item)
        session.commit()
        # Every board exists before the first point is earned (as after `leaderboard
        # rebuild` on a live system), so each approval reaches Redis at its commit and
        # nothing is left for the sweeper.
        regenerate(session, extensions.leaderboards(), Selection(), now=now, compare=False)
        return World(community.id, staff.openid or "", openids, task.id, item.id, stock)


# --- the instances ------------------------------------------------------------------------


def production_environ(backend: Backend, stub: WechatStub, **overrides: str) -> dict[str, str]:
    """What an operator sets in production: real secrets, live WeChat (the stub), the
    run's PostgreSQL database and Redis prefix."""
    if not (backend.database_url and backend.redis_url):
        raise ValueError("production needs PostgreSQL and Redis: run with LIANXIN_TEST_*_URL")
    return backend.environ(
        LIANXIN_ENV="production",
        LIANXIN_SECRET_KEY=f"multi-instance-secret-{uuid.uuid4().hex}",
        LIANXIN_DATA_KEY=f"multi-instance-data-key-{uuid.uuid4().hex}",
        LIANXIN_WECHAT_MODE="live",
        LIANXIN_WECHAT_BASE_URL=stub.base_url,
        LIANXIN_WECHAT_APPID=stub.appid,
        LIANXIN_WECHAT_SECRET=stub.secret,
        LIANXIN_WECHAT_PUSH_TOKEN="multi-instance-push-token",
        LIANXIN_PUBLIC_BASE_URL="https://lianxin.example.cn",
        LIANXIN_CERTIFICATE_VERIFY_BASE_URL="https://lianxin.example.cn",
        **overrides,
    )


# The most a gunicorn worker may hold after the load; workers measure about 120 MB, so
# more is something kept per request.
WORKER_RSS_LIMIT_MB = 150


@dataclass(frozen=True)
class Memory:
    pid: int
    rss_mb: float  # resident now, in MB (10⁶ bytes)
    peak_mb: float  # the most it ever held resident (VmHWM)


def memory_of(pid: int) -> Memory:
    """From /proc (Linux), which gives kB (1,024 bytes)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024 / 1e6
    return Memory(pid, found["VmRSS"], found["VmHWM"])


@dataclass
class Instance:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def worker_pids(self) -> list[int]:
        # `lianxin serve` execs gunicorn, so the process we started is the master.
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return sorted(int(child) for child in children)

    def worker_memory(self) -> list[Memory]:
        return [memory_of(pid) for pid in self.worker_pids()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_instance(environ: dict[str, str], workdir: Path, *, workers: int) -> Instance:
    port = free_port()
    log_path = workdir / f"instance-{port}.log"
    # Each instance keeps its own metrics folder: gunicorn empties it at start, and two
    # masters sharing one would wipe each other's counters.
    metrics = workdir / f"prometheus-{port}"
    metrics.mkdir()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [LIANXIN, "serve", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"],
            env={**environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Instance(f"http://127.0.0.1:{port}", process, log_path)


def wait_until_ready(instance: Instance, timeout: float = 60) -> None:
    outcome = wait_ready(instance.url, instance.process, timeout)
    if outcome == "exited":
        raise AssertionError(f"instance exited:\n{instance.log_path.read_text()}")
    if outcome == "slow":
        raise AssertionError(
            f"instance not ready in {timeout:g} s:\n{instance.log_path.read_text()}"
        )


@contextmanager
def running(
    environ: dict[str, str], workdir: Path, *, instances: int = 2, workers: int = 2
) -> Iterator[list[Instance]]:
    """Start the instances side by side and stop them all on the way out, whatever
    happened in between."""
    started: list[Instance] = []
    try:
        for _ in range(instances):
            started.append(start_instance(environ, workdir, workers=workers))
        for instance in started:
            wait_until_ready(instance)
        yield started
    finally:
        for instance in started:
            instance.stop()


class RoundRobin:
    """An HTTP client over the instances: request n goes to instance n % count, unless
    the caller names one (``on``)."""

    def __init__(self, instances: Sequence[Instance], timeout: float = 60) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.clients = [
            httpx.Client(base_url=i.url, timeout=timeout, limits=limits) for i in instances
        ]
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self.sent = [0] * len(self.clients)

    def __call__(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        on: int | None = None,
    ) -> httpx.Response:
        with self._lock:
            index = next(self._counter) % len(self.clients) if on is None else on
            self.sent[index] += 1
        sending = dict(headers or {})
        if token is not None:
            sending["Authorization"] = f"Bearer {token}"
        return self.clients[index].request(method, f"/api/v1{path}", json=json, headers=sending)

    def close(self) -> None:
        for client in self.clients:
            client.close()


# --- the load -----------------------------------------------------------------------------


class UnexpectedResponse(AssertionError):
    pass


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise UnexpectedResponse(
            f"{response.request.method} {response.request.url} → {response.status_code}, "
            f"wanted {status}: {response.text[:500]}"
        )
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Member:
    openid: str
    user_id: int = 0
    token: str = ""
    participation_id: int = 0


@dataclass
class Attempt:
    """One POST /redemptions: who, with which key, on which instance, and the answer."""

    member: int  # index into the members
    key: str
    instance: int
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    staff_token: str
    members: list[Member]
    approvals: list[dict[str, Any]]
    boards_read: list[dict[str, Any]]  # each member's view of the community's 积分 board
    attempts: list[Attempt]  # each member's own request in the race
    # (original, the same key on the other instance): first at the same moment, then later
    replays: list[tuple[Attempt, Attempt]]
    requests: int
    sent: list[int]  # requests per instance
    seconds: float


def _all(pool: ThreadPoolExecutor, work: Callable[[T], Any], items: Sequence[T]) -> list[Any]:
    return list(pool.map(work, items))


def sign_in(send: RoundRobin, code: str) -> tuple[int, str]:
    body = expect(send("POST", "/auth/wechat", json={"code": code}), 200)
    return int(body["user"]["id"]), str(body["access_token"])


def do_the_work(send: RoundRobin, world: World, member: Member) -> None:
    """A member's day, each step possibly on another instance: sign up, check in at the
    door, check out, hand in the households visited."""
    signed = expect(
        send("POST", f"/tasks/{world.task_id}/signups", token=member.token, json={}), 201
    )
    member.participation_id = int(signed["id"])
    path = f"/participations/{member.participation_id}"
    expect(send("POST", f"{path}/checkin", token=member.token, json=INSIDE_FENCE), 200)
    expect(send("POST", f"{path}/checkout", token=member.token, json=INSIDE_FENCE), 200)
    submitted = {"note": "走访了三户", "units": HOUSEHOLDS}
    expect(send("POST", f"{path}/submit", token=member.token, json=submitted), 200)


def read_board(send: RoundRobin, world: World, member: Member) -> dict[str, Any]:
    query = f"scope=org:{world.community}&period=all&limit=100&around=me"
    return expect(send("GET", f"/leaderboards/jifen?{query}", token=member.token), 200)


def race_for_the_item(
    send: RoundRobin, world: World, members: list[Member], *, replayed: int
) -> tuple[list[Attempt], list[tuple[Attempt, Attempt]]]:
    """Every member asks for the item at once, half on each instance; the first
    ``replayed`` members also send the same request with the same Idempotency-Key to
    the other instance at the same moment, as a phone retrying on a flaky network
    would, through a balancer that picks the other instance."""
    count = len(send.clients)
    attempts = [Attempt(n, f"redeem-{uuid.uuid4().hex}", n % count) for n in range(len(members))]
    replays = [Attempt(a.member, a.key, (a.instance + 1) % count) for a in attempts[:replayed]]
    everyone = attempts + replays

    def attempt(index: int, go: Callable[[], None]) -> None:
        a = everyone[index]
        go()
        response = send(
            "POST",
            "/redemptions",
            token=members[a.member].token,
            json={"item_id": world.item_id, "quantity": 1},
            headers={"Idempotency-Key": a.key},
            on=a.instance,
        )
        a.status, a.body = response.status_code, response.json()

    all_at_once(len(everyone), attempt)
    return attempts, list(zip(attempts[:replayed], replays, strict=True))


def browse(send: RoundRobin, world: World, members: Sequence[Member], seconds: float) -> int:
    """What members do between doing things, one after another for ``seconds``: look
    at the boards, their points, the shelf, the tasks. Returns how many requests."""
    deadline = time.monotonic() + seconds
    paths = [
        f"/leaderboards/jifen?scope=org:{world.community}&period=month&around=me",
        f"/leaderboards/xingfubi?scope=org:{world.community}&period=week",
        "/me/accounts",
        "/stations",
        "/tasks?limit=20",
    ]
    sent = 0
    while time.monotonic() < deadline:
        member = members[sent % len(members)]
        expect(send("GET", paths[sent % len(paths)], token=member.token), 200)
        sent += 1
    return sent


def drive(
    instances: Sequence[Instance],
    world: World,
    *,
    threads: int = 16,
    replayed: int = 4,
    browsing: float = 0,
) -> Outcome:
    """The mixed load, spread over the instances: everyone signs in, members do the
    work, the staff member approves it while members watch the leaderboard, then all
    race for the scarce item."""
    send = RoundRobin(instances)
    started = time.perf_counter()
    members = [Member(openid) for openid in world.member_openids]
    codes = world.sign_in_codes()
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            signed = _all(
                pool,
                lambda o: sign_in(send, codes[o]),
                [world.staff_openid] + [m.openid for m in members],
            )
            staff_token = signed[0][1]
            for member, (user_id, token) in zip(members, signed[1:], strict=True):
                member.user_id, member.token = user_id, token
            _all(pool, lambda m: do_the_work(send, world, m), members)

            def approve(member: Member) -> dict[str, Any]:
                path = f"/participations/{member.participation_id}/approve"
                return expect(send("POST", path, token=staff_token, json={}), 200)

            # Approvals and leaderboard reads interleave, as they would on a busy day.
            approving, watching = [], []
            for member in members:
                approving.append(pool.submit(approve, member))
                watching.append(pool.submit(read_board, send, world, member))
            approvals = [f.result() for f in approving]
            for f in watching:
                f.result()
            boards_read = _all(pool, lambda m: read_board(send, world, m), members)
            if browsing:
                shares = [members[i::threads] for i in range(min(threads, len(members)))]
                _all(pool, lambda share: browse(send, world, share, browsing), shares)
        attempts, replays = race_for_the_item(send, world, members, replayed=replayed)
        # And later, once the dust settled, each member whose phone retried asks once more.
        for original, _ in list(replays):
            later = Attempt(original.member, original.key, (original.instance + 1) % len(instances))
            response = send(
                "POST",
                "/redemptions",
                token=members[original.member].token,
                json={"item_id": world.item_id, "quantity": 1},
                headers={"Idempotency-Key": original.key},
                on=later.instance,
            )
            later.status, later.body = response.status_code, response.json()
            replays.append((original, later))
        return Outcome(
            staff_token=staff_token,
            members=members,
            approvals=approvals,
            boards_read=boards_read,
            attempts=attempts,
            replays=replays,
            requests=sum(send.sent),
            sent=list(send.sent),
            seconds=time.perf_counter() - started,
        )
    finally:
        send.close()


def summary(outcome: Outcome, memory: Sequence[Memory]) -> str:
    return (
        f"{outcome.requests} requests over {len(outcome.sent)} instances in "
        f"{outcome.seconds:.1f} s (per instance: {', '.join(map(str, outcome.sent))}); "
        "worker RSS after the load: "
        + ", ".join(f"{m.rss_mb:.0f} MB (peak {m.peak_mb:.0f})" for m in memory)
    )
