"""Console sessions (控制台登录): signed in with the same password policy as the JSON
sign-in, and acting as the same actor the JSON API builds from a token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from points.access import Actor
from service.access import load_account
from service.auth.models import ConsoleSession
from service.auth.sign_in import check_password
from service.db import rows_changed
from service.people.models import User
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class OpenedSession:
    token: str  # for the cookie; only its hash is stored
    csrf_token: str


@dataclass(frozen=True)
class ConsoleCaller:
    actor: Actor
    name: str
    csrf_token: str
    must_change_password: bool = False  # signed in with a temporary password
    session_key: str = ""  # the stored id of the session this caller came with


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_console_session(
    uow: UnitOfWork, username: str, password: str, idle: timedelta, now: datetime
) -> OpenedSession:
    with uow:
        user = check_password(uow, username, password, now)
        # Sessions whose cookie was simply dropped go here, anyone's, by the index on
        # last_seen_at: no row outlives its idle time by more than the next sign-in.
        uow.session.execute(delete(ConsoleSession).where(ConsoleSession.last_seen_at <= now - idle))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        uow.session.add(
            ConsoleSession(
                id=_hash(token), user_id=user.id, csrf_token=csrf, created_at=now, last_seen_at=now
            )
        )
        uow.commit()
        return OpenedSession(token, csrf)


def console_caller(
    uow: UnitOfWork, token: str, idle: timedelta, now: datetime
) -> ConsoleCaller | None:
    """Who holds this console cookie, or None (unknown, idle too long, or the account
    disabled). Each request moves ``last_seen_at`` on, in one conditional UPDATE that
    also refuses a session idle for longer than ``idle``."""
    key = _hash(token)
    with uow:
        session = uow.session
        alive = rows_changed(
            session.execute(
                update(ConsoleSession)
                .where(ConsoleSession.id == key, ConsoleSession.last_seen_at > now - idle)
                .values(last_seen_at=now)
                .execution_options(synchronize_session=False)
            )
        )
        if alive != 1:
            # Idle too long: the row goes, so a stale cookie can never come back to life.
            session.execute(delete(ConsoleSession).where(ConsoleSession.id == key))
            uow.commit()
            return None
        found = _holder(session, key)
        uow.commit()
        return found


def _holder(session: Session, key: str) -> ConsoleCaller | None:
    row = session.execute(
        select(
            ConsoleSession.user_id,
            ConsoleSession.csrf_token,
            User.name,
            User.password_must_change,
        )
        .join(User, User.id == ConsoleSession.user_id)
        .where(ConsoleSession.id == key)
    ).one_or_none()
    if row is None:
        return None
    account = load_account(session, row.user_id)
    if account is None or not account.active:
        return None
    return ConsoleCaller(
        account.actor, row.name, row.csrf_token, row.password_must_change, session_key=key
    )


def close_console_session(uow: UnitOfWork, token: str) -> None:
    with uow:
        uow.session.execute(delete(ConsoleSession).where(ConsoleSession.id == _hash(token)))
        uow.commit()
