"""Who is calling: from an access token to an actor with grants."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from points.access import Actor
from service.access import Account, load_account
from service.auth.tokens import AccessClaims, InvalidToken, read_access_token


class OutdatedToken(InvalidToken):
    code = "token_outdated"


@dataclass(frozen=True)
class Caller:
    actor: Actor
    family: str  # the refresh family this access token belongs to (for logout)


def caller_from_token(session: Session, secret_key: str, token: str) -> Caller:
    claims = read_access_token(secret_key, token)
    return Caller(confirm_caller(session, claims).actor, claims.family)


def confirm_account(claims: AccessClaims, active: bool | None, token_version: int | None) -> None:
    """Refuse the token unless its account (``active`` None: not found) may act and the
    token is of the account's current version. A use case that reads the account in its
    own first query confirms the caller with this instead of a query of its own."""
    if not active:
        raise InvalidToken("the account behind this token no longer exists or is disabled")
    if token_version != claims.token_version:
        # Logout or a role change since the token was issued: refresh to get a current one.
        raise OutdatedToken("the access token was issued before a sign-out or role change")


def confirm_caller(session: Session, claims: AccessClaims) -> Account:
    """Confirm the token's account by a query of its own: before every request but those
    whose use case confirms it (and for them when their first query found nothing, so it
    could not tell a refused caller from a missing object)."""
    account = load_account(session, claims.user_id)
    if account is None:
        raise InvalidToken("the account behind this token no longer exists or is disabled")
    confirm_account(claims, account.active, account.token_version)
    return account
