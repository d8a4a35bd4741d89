"""Access tokens (short-lived JWTs) and refresh tokens (opaque, stored hashed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import jwt

from points.errors import Unauthenticated

ISSUER = "lianxin"
AUDIENCE = "lianxin-api"
# Fixed here, never read from the token: a token can't choose "none" or another key type.
ALGORITHM = "HS256"
ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
REFRESH_TOKEN_LIFETIME = timedelta(days=30)


class InvalidToken(Unauthenticated):
    code = "invalid_token"


class ExpiredToken(Unauthenticated):
    code = "token_expired"


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    token_version: int
    family: str


@lru_cache(maxsize=4)
def signing_key(secret_key: str) -> bytes:
    # A key of its own, so the app secret's other uses can't mint tokens.
    return hmac.new(secret_key.encode(), b"lianxin access tokens", hashlib.sha256).digest()


def issue_access_token(
    secret_key: str, *, user_id: int, token_version: int, family: str, now: datetime
) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "iat": now,
        "exp": now + ACCESS_TOKEN_LIFETIME,
        "ver": token_version,
        "fam": family,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, signing_key(secret_key), algorithm=ALGORITHM)


def read_access_token(secret_key: str, token: str, now: float | None = None) -> AccessClaims:
    """The claims of a token this server signed, if it has not expired."""
    claims, expires_at = _verified(secret_key, token)
    if (time.time() if now is None else now) >= expires_at:
        raise ExpiredToken("the access token has expired; refresh it")
    return claims


# A client sends the same token with every request for its 15 minutes: its signature
# and claims are checked once, and only its expiry on each later use. Refused tokens
# raise, so they are never remembered.
@lru_cache(maxsize=8192)
def _verified(secret_key: str, token: str) -> tuple[AccessClaims, float]:
    try:
        claims = jwt.decode(
            token,
            signing_key(secret_key),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud", "ver", "fam"]},
        )
    except jwt.ExpiredSignatureError:
        raise ExpiredToken("the access token has expired; refresh it") from None
    except jwt.PyJWTError:
        raise InvalidToken("the access token is not valid") from None
    try:
        found = AccessClaims(int(claims["sub"]), int(claims["ver"]), str(claims["fam"]))
        return found, float(claims["exp"])
    except (TypeError, ValueError):
        raise InvalidToken("the access token is not valid") from None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def new_family() -> str:
    return uuid.uuid4().hex


def hash_refresh_token(token: str) -> str:
    # Refresh tokens are 256 random bits: a plain hash is enough, no salt or stretching.
    return hashlib.sha256(token.encode()).hexdigest()
