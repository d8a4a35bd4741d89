"""Access tokens: verified once per token string, their expiry checked on every use."""

from datetime import UTC, datetime, timedelta

import pytest

from service.auth.tokens import (
    ACCESS_TOKEN_LIFETIME,
    ExpiredToken,
    InvalidToken,
    issue_access_token,
    read_access_token,
)

SECRET = "a-secret-key-for-these-tests-only-0123456789"


def _token(now: datetime, user_id: int = 7) -> str:
    return issue_access_token(SECRET, user_id=user_id, token_version=3, family="f", now=now)


def test_a_token_read_again_still_expires_on_time() -> None:
    issued = datetime.now(UTC) - timedelta(minutes=1)
    token = _token(issued)
    claims = read_access_token(SECRET, token)
    assert (claims.user_id, claims.token_version, claims.family) == (7, 3, "f")
    expires = (issued + ACCESS_TOKEN_LIFETIME).timestamp()
    assert read_access_token(SECRET, token, now=expires - 1) == claims  # remembered
    with pytest.raises(ExpiredToken):
        read_access_token(SECRET, token, now=expires)


def test_a_token_of_another_key_or_tampered_is_refused_every_time() -> None:
    token = _token(datetime.now(UTC))
    # Valid, and now remembered for this key.
    assert read_access_token(SECRET, token).user_id == 7
    for _ in range(2):
        with pytest.raises(InvalidToken):
            read_access_token("another-secret-key-entirely-0123456789", token)
        with pytest.raises(InvalidToken):
            read_access_token(SECRET, _tampered(token))


def _tampered(token: str) -> str:
    # A character well inside the signature (the last one holds padding bits).
    at = len(token) - 10
    return token[:at] + ("B" if token[at] != "B" else "C") + token[at + 1 :]


def test_an_expired_token_is_refused_at_first_sight() -> None:
    with pytest.raises(ExpiredToken):
        read_access_token(SECRET, _token(datetime.now(UTC) - ACCESS_TOKEN_LIFETIME * 2))
