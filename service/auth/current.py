"""Who is calling: from an access token to an actor with grants."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.access import Actor, load_account
from service.auth.tokens import InvalidToken, read_access_token


class OutdatedToken(InvalidToken):
    code = "token_outdated"


@dataclass(frozen=True)
class Caller:
    actor: Actor
    family: str  # the refresh family this access token belongs to (for logout)


def caller_from_token(session: Session, secret_key: str, token: str) -> Caller:
    claims = read_access_token(secret_key, token)
    account = load_account(session, claims.user_id)
    if account is None or not account.active:
        raise InvalidToken("the account behind this token no longer exists or is disabled")
    if account.token_version != claims.token_version:
        # Logout or a role change since the token was issued: refresh to get a current one.
        raise OutdatedToken("the access token was issued before a sign-out or role change")
    return Caller(account.actor, claims.family)
