"""`lianxin notifications …`: send what is due, remind, prune, and what an operator
sees of the WeChat messages (dead letters to resend once their cause is fixed)."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from api import extensions
from service.db import utcnow
from service.notifications.pruning import prune_read
from service.notifications.reminders import remind
from service.notifications.sending import message_counts, retry_failed, send_due
from service.unit_of_work import UnitOfWork

notifications = AppGroup("notifications", help="The inbox's reminders and WeChat messages.")


@notifications.command("send")
@with_appcontext
def send_command() -> None:
    """Send the WeChat messages that are due (what the worker does every few seconds)."""
    report = send_due(
        UnitOfWork(extensions.session()),
        extensions.subscribe_messages(),
        extensions.wechat_templates(),
        utcnow(),
    )
    click.echo(
        f"notifications sent: {report.sent:,} sent, {report.no_quota:,} without an allowance, "
        f"{report.refused:,} refused, {report.retrying:,} to retry, {report.failed:,} failed"
    )


@notifications.command("remind")
@with_appcontext
def remind_command() -> None:
    """Write the reminders that are due (tasks within the hour, pickups within a day,
    幸福币 within 30 days, whistles near or past their deadline), each once."""
    report = remind(
        UnitOfWork(extensions.session()),
        extensions.wechat_templates(),
        extensions.unread_counts(),
        utcnow(),
    )
    click.echo(f"notifications: {report.told:,} reminder(s) written")


@notifications.command("prune")
@click.option("--older-than-days", type=click.IntRange(min=1), help="default: the setting")
@with_appcontext
def prune_command(older_than_days: int | None) -> None:
    """Delete notifications read more than LIANXIN_NOTIFICATION_KEEP_DAYS ago."""
    keep = older_than_days or extensions.settings().notification_keep_days
    pruned = prune_read(UnitOfWork(extensions.session()), utcnow(), keep)
    click.echo(f"notifications: {pruned:,} read notification(s) pruned")


@notifications.command("status")
@with_appcontext
def status_command() -> None:
    """WeChat messages by status; exit 1 if any is a dead letter."""
    counts = message_counts(extensions.session())
    click.echo(", ".join(f"{status}: {count:,}" for status, count in counts.items()))
    if counts["failed"]:
        raise SystemExit(1)


@notifications.command("retry")
@with_appcontext
def retry_command() -> None:
    """Put dead letters back in line (a message interrupted mid-send may reach the
    member twice: that is the operator's call)."""
    count = retry_failed(extensions.session(), utcnow())
    click.echo(f"notifications: {count:,} message(s) back in line")
