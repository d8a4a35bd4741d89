"""The worker sending 10,000 subscribe messages to the stub WeChat server: messages per
second, and that each was sent exactly once.

    .venv/bin/python -m tests.bench.bench_notification_send [--messages 10000] [--workers 2]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--redis-url redis://127.0.0.1:6379/0]

Without --database-url it runs on a temporary SQLite instance (and embedded Redis);
with it, in a database lianxin_bench_<random> created for the run and dropped after.
Each of the messages is a notification of its own member (with an openid and one
allowance of the template), written as the outbox handler writes them. The workers
are threads of this process, each running ``send_due`` as ``lianxin worker`` does,
at once; the stub (tests/wechat_stub.py, a real HTTP server) runs in this process
too, so it shares the interpreter with them: the figure is a floor.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import threading
import time
import uuid
from dataclasses import replace

import flask_migrate
from sqlalchemy import func, insert, select

from api import extensions
from api.app import create_app
from points.notices import Topic
from points.places import PlaceLevel
from service.config import Settings
from service.db import utcnow
from service.notifications.inbox import Told, write_notifications
from service.notifications.models import QUOTA_TABLE, SubscriptionQuota, WechatMessage
from service.notifications.sending import SendReport, send_due
from service.people.models import User
from service.places.tree import add_place
from service.unit_of_work import UnitOfWork
from tests.bench.bench_roster_import import database
from tests.wechat_stub import SUBSCRIBE_SEND, WechatStub

TEMPLATE = "tmpl-bench-cancelled"
TEMPLATES = {
    "task.cancelled": {
        "template_id": TEMPLATE,
        "page": "pages/task/detail?id={task_id}",
        "fields": {"thing1": "task_title", "thing2": "reason"},
    }
}
BATCH = 2_000


def seed(app: object, messages: int) -> None:
    with app.app_context():  # type: ignore[attr-defined]
        session = extensions.session()
        grid = add_place(session, None, "压测网格", PlaceLevel.GRID)
        tag = uuid.uuid4().hex[:8]
        ids = list(
            session.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [
                    {
                        "openid": f"bench-{tag}-{n}",
                        "name": f"志愿者{n}",
                        "residence_place_id": grid.id,
                    }
                    for n in range(messages)
                ],
            )
        )
        now = utcnow()
        session.execute(
            insert(QUOTA_TABLE),
            [
                {"user_id": user_id, "template_id": TEMPLATE, "remaining": 1, "updated_at": now}
                for user_id in ids
            ],
        )
        templates = extensions.wechat_templates()
        for start in range(0, messages, BATCH):
            told = [
                Told(
                    user_id,
                    Topic.TASK_CANCELLED,
                    f"bench:{user_id}",
                    {"task_id": user_id, "task_title": "楼道清扫活动", "reason": "台风预警"},
                )
                for user_id in ids[start : start + BATCH]
            ]
            write_notifications(session, told, templates, now)
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        database(options.database_url) as url,
        WechatStub() as stub,
    ):
        settings = Settings.from_env(
            {
                "LIANXIN_INSTANCE_PATH": folder,
                **({"LIANXIN_DATABASE_URL": url} if url else {}),
                **({"LIANXIN_REDIS_URL": options.redis_url} if options.redis_url else {}),
                "LIANXIN_REDIS_PREFIX": f"lxbench:{uuid.uuid4().hex[:8]}:",
                "LIANXIN_RATE_LIMIT": "",
                "LIANXIN_LOG_LEVEL": "WARNING",
                "LIANXIN_DB_POOL_SIZE": str(options.workers + 2),
            }
        )
        overrides = stub.settings_overrides()
        settings = replace(settings, wechat_templates=TEMPLATES, **overrides)  # type: ignore[arg-type]
        app = create_app(settings)
        with app.app_context():
            flask_migrate.upgrade()
        began = time.perf_counter()
        seed(app, options.messages)
        print(f"seeded {options.messages:,} notifications in {time.perf_counter() - began:.1f} s")

        reports: list[SendReport] = []
        errors: list[BaseException] = []
        go = threading.Barrier(options.workers)

        def worker() -> None:
            try:
                with app.app_context():
                    sender, templates = (
                        extensions.subscribe_messages(),
                        extensions.wechat_templates(),
                    )
                    go.wait()
                    reports.append(
                        send_due(UnitOfWork(extensions.session()), sender, templates, utcnow())
                    )
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=worker) for _ in range(options.workers)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
        if errors:
            raise errors[0]
        sent = sum(report.sent for report in reports)
        per_user = collections.Counter(message["touser"] for message in stub.subscribe_sent)
        with app.app_context():
            session = extensions.session()
            statuses = dict(
                session.execute(
                    select(WechatMessage.status, func.count()).group_by(WechatMessage.status)
                ).all()
            )
            left = session.scalar(select(func.sum(SubscriptionQuota.remaining)))
        print(
            f"{options.workers} worker(s): {sent:,} sent in {seconds:.1f} s = "
            f"{sent / seconds:,.0f} messages/s; stub received {stub.calls[SUBSCRIBE_SEND]:,} "
            f"for {len(per_user):,} members, most to one member {max(per_user.values())}; "
            f"statuses {statuses}; allowances left {left}"
        )
        once = (
            stub.calls[SUBSCRIBE_SEND] == sent == options.messages
            and set(per_user.values()) == {1}
            and statuses == {"sent": options.messages}
        )
        print("each sent exactly once" if once else "NOT each sent once")
        if not once:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
