"""Signing in and out: WeChat, console password, refresh rotation, logout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.errors import Forbidden, RateLimited, Unauthenticated
from service.auth.models import RefreshToken
from service.auth.passwords import hash_password, needs_rehash, verify_password
from service.auth.tokens import (
    ACCESS_TOKEN_LIFETIME,
    REFRESH_TOKEN_LIFETIME,
    hash_refresh_token,
    issue_access_token,
    new_family,
    new_refresh_token,
)
from service.db import rows_changed
from service.people.directory import bump_token_version
from service.people.models import User
from service.unit_of_work import UnitOfWork

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
NEW_USER_NAME = "微信用户"


class WechatLogin(Protocol):
    """What sign-in needs of the WeChat gateway (see service.wechat)."""

    def login(self, code: str) -> _Identity: ...


class _Identity(Protocol):
    @property
    def openid(self) -> str: ...
    @property
    def unionid(self) -> str | None: ...


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"


class AccountLocked(RateLimited):
    code = "account_locked"


class PasswordChangeRequired(Forbidden):
    code = "password_change_required"


class AccountDisabled(Forbidden):
    code = "account_disabled"


class InvalidRefreshToken(Unauthenticated):
    code = "invalid_refresh_token"


class RefreshTokenReused(Unauthenticated):
    code = "refresh_token_reused"


@dataclass(frozen=True)
class SignedIn:
    user: User
    access_token: str
    refresh_token: str
    expires_in: int


def issue_tokens(
    session: Session, secret_key: str, user: User, now: datetime, family: str | None = None
) -> SignedIn:
    family = family or new_family()
    refresh = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family=family,
            token_hash=hash_refresh_token(refresh),
            issued_at=now,
            expires_at=now + REFRESH_TOKEN_LIFETIME,
        )
    )
    access = issue_access_token(
        secret_key, user_id=user.id, token_version=user.token_version, family=family, now=now
    )
    return SignedIn(user, access, refresh, int(ACCESS_TOKEN_LIFETIME.total_seconds()))


def _find_or_create_wechat_user(session: Session, openid: str, unionid: str | None) -> User:
    existing = session.scalars(select(User).where(User.openid == openid)).one_or_none()
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            user = User(openid=openid, unionid=unionid, name=NEW_USER_NAME)
            session.add(user)
        return user
    except IntegrityError:
        # The same person signed in twice at once; the other request created them.
        return session.scalars(select(User).where(User.openid == openid)).one()


def sign_in_with_wechat(
    uow: UnitOfWork, wechat: WechatLogin, secret_key: str, code: str, now: datetime
) -> SignedIn:
    identity = wechat.login(code)  # before the transaction: no database lock held over the network
    with uow:
        user = _find_or_create_wechat_user(uow.session, identity.openid, identity.unionid)
        if not user.active:
            raise AccountDisabled("this account has been disabled; contact community staff")
        user.last_sign_in_at = now
        signed_in = issue_tokens(uow.session, secret_key, user, now)
        uow.commit()
        return signed_in


def sign_in_with_password(
    uow: UnitOfWork, secret_key: str, username: str, password: str, now: datetime
) -> SignedIn:
    with uow:
        user = check_password(uow, username, password, now)
        if user.password_must_change:
            # A temporary password given by an admin opens only the console's page for
            # choosing one's own: no API tokens until then.
            raise PasswordChangeRequired(
                "this password is temporary: choose your own in the console first"
            )
        signed_in = issue_tokens(uow.session, secret_key, user, now)
        uow.commit()
        return signed_in


def check_password(uow: UnitOfWork, username: str, password: str, now: datetime) -> User:
    """The one password policy (lockout included) for the JSON sign-in and the console's:
    the account whose password this is, marked signed in, inside the caller's open unit
    of work; a wrong password is counted and committed before it is refused."""
    session = uow.session
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(
            "too many failed sign-ins; try again after "
            f"{user.locked_until.isoformat(timespec='minutes')}"
        )
    if not verify_password(user.password_hash if user else None, password) or user is None:
        if user is not None:
            count_failed_password(session, user.id, now)
            uow.commit()
        raise InvalidCredentials("wrong username or password")
    if not user.active:
        raise AccountDisabled("this account has been disabled")
    user.failed_logins = 0
    user.locked_until = None
    user.last_sign_in_at = now
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def count_failed_password(session: Session, user_id: int, now: datetime) -> None:
    # In SQL, so concurrent wrong guesses all count.
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(
            failed_logins=User.failed_logins + 1,
            locked_until=case(
                (User.failed_logins + 1 >= MAX_FAILED_LOGINS, now + LOCKOUT),
                else_=User.locked_until,
            ),
        )
        .execution_options(synchronize_session=False)
    )


def refresh_tokens(uow: UnitOfWork, secret_key: str, token: str, now: datetime) -> SignedIn:
    token_hash = hash_refresh_token(token)
    with uow:
        session = uow.session
        # Mark the token used only if nobody has: two racing refreshes can't both win.
        claimed = rows_changed(
            session.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.token_hash == token_hash,
                    RefreshToken.used_at.is_(None),
                    RefreshToken.revoked_at.is_(None),
                    RefreshToken.expires_at > now,
                )
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            )
        )
        stored = session.scalars(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        ).one_or_none()
        if stored is None:
            raise InvalidRefreshToken("unknown refresh token; sign in again")
        if claimed != 1:
            if stored.used_at is not None and stored.revoked_at is None:
                revoke_family(session, stored.family, now)
                uow.commit()
                raise RefreshTokenReused("this refresh token was already used; sign in again")
            raise InvalidRefreshToken("the refresh token has expired or was revoked; sign in again")
        user = session.get(User, stored.user_id)
        if user is None or not user.active:
            raise InvalidRefreshToken("the account is no longer active")
        signed_in = issue_tokens(session, secret_key, user, now, family=stored.family)
        uow.commit()
        return signed_in


def revoke_family(session: Session, family: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def sign_out(uow: UnitOfWork, user_id: int, family: str, now: datetime) -> None:
    """Revoke this device's refresh family and end every access token issued so far."""
    with uow:
        revoke_family(uow.session, family, now)
        bump_token_version(uow.session, user_id)
        uow.commit()
