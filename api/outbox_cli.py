"""`lianxin outbox …` and `lianxin worker`: handing out what commits left to do after
them (the outbox, and the leaderboard feed), and what an operator sees of it."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from types import FrameType

import click
import redis
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from api import extensions
from api.uploads_cli import recheck_unsent_photos
from service.db import utcnow
from service.leaderboards.rebuild import rebuild_missing, sync
from service.notifications.reminders import remind
from service.notifications.sending import send_due
from service.outbox.status import retry_given_up, status
from service.tasks.generation import generate_occurrences
from service.tasks.no_shows import mark_no_shows
from service.tasks.waitlist import let_offers_lapse
from service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

REMIND_EVERY = timedelta(minutes=1)
# Occurrences are posted two weeks ahead: hourly keeps that horizon to the hour.
GENERATE_EVERY = timedelta(hours=1)

outbox = AppGroup("outbox", help="See and hand out the messages commits left to deliver.")


@outbox.command("status")
@with_appcontext
def status_command() -> None:
    """Messages not handled yet, by kind: waiting, given up, oldest, last error."""
    kinds = status(extensions.session())
    if not kinds:
        click.echo("outbox: nothing waits")
        return
    for kind in kinds:
        oldest = kind.oldest.isoformat(timespec="seconds") if kind.oldest else "-"
        line = f"{kind.kind}: {kind.waiting:,} waiting, {kind.given_up:,} given up, oldest {oldest}"
        click.echo(line + (f"; last error: {kind.last_error}" if kind.last_error else ""))
    if any(kind.given_up for kind in kinds):
        raise SystemExit(1)  # a cron job or a check sees that someone must look


@outbox.command("sweep")
@click.option("--batch", type=click.IntRange(min=1), default=200, show_default=True)
@with_appcontext
def sweep_command(batch: int) -> None:
    """Hand out every message that is due (what the worker does every few seconds)."""
    report = extensions.outbox_dispatcher().sweep(extensions.session(), now=utcnow(), batch=batch)
    click.echo(
        f"outbox swept: {report.handled:,} handled, {report.failed:,} failed "
        f"({report.given_up:,} given up)"
    )


@outbox.command("retry")
@click.option("--kind", help="only messages of this kind")
@with_appcontext
def retry_command(kind: str | None) -> None:
    """Put messages that were given up back in line, once their cause is fixed."""
    count = retry_given_up(extensions.session(), now=utcnow(), kind=kind)
    click.echo(f"outbox: {count:,} message(s) back in line")


@click.command("worker")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="seconds between sweeps",
)
@click.option("--once", is_flag=True, help="sweep once and stop (for cron and tests)")
@with_appcontext
def worker_command(interval: float, once: bool) -> None:
    """Background loop: hand out the outbox, apply the leaderboard feed, rebuild
    missing boards and send the WeChat messages due every few seconds (reminders,
    lapsed waitlist offers and no-shows every minute, recurring tasks' occurrences
    every hour), until SIGTERM or SIGINT (it finishes the sweep it is in)."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker: stopping on signal %d", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    session, boards = extensions.session(), extensions.leaderboards()
    dispatcher = extensions.outbox_dispatcher()
    sender, templates = extensions.subscribe_messages(), extensions.wechat_templates()
    reminded_at: datetime | None = None
    generated_at: datetime | None = None
    click.echo(f"lianxin worker: sweeping every {interval:g} s")
    while not stop.is_set():
        try:
            report = sync(session, boards, now=utcnow())
            rebuilt = rebuild_missing(session, boards)
            if report.applied or report.rebuilt or rebuilt:
                log.info(
                    "worker: %d event(s) applied, %d board(s) rebuilt",
                    report.applied,
                    report.rebuilt + rebuilt,
                )
            handed = dispatcher.sweep(session, now=utcnow())
            if handed.handled or handed.failed:
                log.info(
                    "worker: %d outbox message(s) handled, %d failed",
                    handed.handled,
                    handed.failed,
                )
            now = utcnow()
            if reminded_at is None or now - reminded_at >= REMIND_EVERY:
                # Every minute is often enough for "within the hour"; every worker may
                # do it, and each reminder is written once (service/notifications).
                remind(UnitOfWork(session), templates, extensions.unread_counts(), now)
                # Photo checks WeChat never took (it was down) are asked for again.
                recheck_unsent_photos()
                # Waitlist offers nobody confirmed in time pass to the next in line.
                let_offers_lapse(UnitOfWork(session), now)
                # Sign-ups of tasks that ended without a check-in become no-shows.
                mark_no_shows(UnitOfWork(session), now)
                reminded_at = now
            if generated_at is None or now - generated_at >= GENERATE_EVERY:
                # Recurring tasks' occurrences: every worker may post, each day once.
                generate_occurrences(UnitOfWork(session), now)
                generated_at = now
            sent = send_due(UnitOfWork(session), sender, templates, utcnow())
            if sent.outcomes:
                log.info("worker: WeChat messages: %s", sent.outcomes)
        except (redis.RedisError, SQLAlchemyError, OSError) as error:
            session.rollback()
            log.warning("worker: sweep failed, retrying in %g s: %s", interval, error)
        if once:
            break
        stop.wait(interval)
    session.close()
    click.echo("lianxin worker: stopped")
