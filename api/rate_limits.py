"""Limits per client address: a general one on every call, a tighter one on sign-in;
and on sign-in one per identity (the wx.login() code or the console username), so many
members behind one address all get in while one client hammering is still stopped.

Counted in Redis, so every worker and instance shares one count, by the ``limits``
library's fixed windows: one Redis call a request. Which limits apply to an endpoint is
decided once per endpoint, not per request (flask-limiter re-resolved its limits on
every request, which cost about as much CPU as a check-in's own query). If Redis is
down, this process counts in memory rather than refuse service: Redis is a derived
store, and a limit is protection, not a record.
"""

from __future__ import annotations

import hashlib
import logging
import time
from functools import cache

import redis
from flask import Flask, request
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from service.config import Settings

log = logging.getLogger(__name__)

# Never limited: orchestrators must always see the truth, and scrapes come every few
# seconds from one address.
EXEMPT_BLUEPRINTS = frozenset({"health", "health_v1"})
EXEMPT_ENDPOINTS = frozenset({"metrics.scrape"})
SIGN_IN_BLUEPRINT = "auth"
# The console's password form guards the same accounts as the JSON sign-in.
CONSOLE_SIGN_IN = "console.sign_in"
# Read without signing in: 公示, and verifying a certificate number.
PUBLIC_BLUEPRINTS = frozenset({"public", "certificate_verification"})
# After Redis fails, how long to count in memory before trying it again, so a dead
# Redis costs one slow request a while, not every request its timeout.
REDIS_RETRY_SECONDS = 10


class RateLimitExceeded(TooManyRequests):
    def __init__(self, limit: RateLimitItem, retry_after: int, whose: str) -> None:
        super().__init__(
            description=f"Too many requests {whose}: at most {limit}. Try again in {retry_after} s."
        )
        self.data = {"headers": {"Retry-After": str(retry_after)}}


class RateLimits:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        general: str,
        sign_in: str,
        sign_in_identity: str = "",
        public: str = "",
    ) -> None:
        self.shared = FixedWindowRateLimiter(
            RedisStorage(
                "redis://",
                connection_pool=client.connection_pool,
                key_prefix=f"{prefix}ratelimit",
                wrap_exceptions=True,
            )
        )
        self.local = FixedWindowRateLimiter(MemoryStorage())
        self.redis_down_until = 0.0  # time.monotonic(): while down, don't wait on Redis
        self.general = parse(general) if general else None
        self.sign_in = parse(sign_in) if sign_in else None
        self.sign_in_identity = parse(sign_in_identity) if sign_in_identity else None
        self.public = parse(public) if public else None

    @cache  # noqa: B019 - one entry per endpoint, for the app's lifetime
    def limits_for(self, endpoint: str) -> tuple[tuple[RateLimitItem, str], ...]:
        """Each limit that applies to ``endpoint``, with the scope it is counted in."""
        blueprint = endpoint.partition(".")[0]
        if endpoint in EXEMPT_ENDPOINTS or blueprint in EXEMPT_BLUEPRINTS:
            return ()
        found = []
        if self.general is not None:
            found.append((self.general, "all"))
        if self.sign_in is not None and (
            blueprint == SIGN_IN_BLUEPRINT or endpoint == CONSOLE_SIGN_IN
        ):
            found.append((self.sign_in, "sign-in"))
        if self.public is not None and blueprint in PUBLIC_BLUEPRINTS:
            found.append((self.public, "public"))
        return tuple(found)

    def hit(self, endpoint: str, address: str) -> None:
        """Count one request; raise if it goes over a limit."""
        for limit, scope in self.limits_for(endpoint):
            self._count(limit, scope, address, "from your address")

    def hit_sign_in_identity(self, kind: str, identity: str) -> None:
        """Count one sign-in attempt as ``identity`` (a wx.login() code, a username)."""
        if self.sign_in_identity is None:
            return
        # Hashed: usernames and codes don't belong in Redis key names.
        key = hashlib.sha256(f"{kind}:{identity}".encode()).hexdigest()[:32]
        self._count(self.sign_in_identity, "sign-in-identity", key, f"for this {kind}")

    def _count(self, limit: RateLimitItem, scope: str, key: str, whose: str) -> None:
        limiter = self.shared if time.monotonic() >= self.redis_down_until else self.local
        try:
            allowed = limiter.hit(limit, scope, key)
        except StorageError:
            log.warning(
                "rate limits: Redis unavailable, counting in this process for %d s",
                REDIS_RETRY_SECONDS,
            )
            self.redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            limiter = self.local
            allowed = limiter.hit(limit, scope, key)
        if not allowed:
            retry_after = self._retry_after(limiter, limit, scope, key)
            raise RateLimitExceeded(limit, retry_after, whose)

    @staticmethod
    def _retry_after(
        limiter: FixedWindowRateLimiter, limit: RateLimitItem, scope: str, address: str
    ) -> int:
        try:
            reset_at = limiter.get_window_stats(limit, scope, address).reset_time
        except StorageError:  # the window's length is a fair answer too
            return limit.get_expiry()
        return max(1, round(reset_at - time.time()))


def init_app(app: Flask, settings: Settings, client: redis.Redis) -> RateLimits:
    limits = RateLimits(
        client,
        settings.redis_prefix,
        settings.rate_limit,
        settings.sign_in_rate_limit,
        settings.sign_in_identity_rate_limit,
        settings.public_rate_limit,
    )

    @app.before_request
    def count_request() -> None:
        # Unknown URLs are 404s for free: nothing to protect behind them.
        if request.endpoint is not None:
            limits.hit(request.endpoint, request.remote_addr or "unknown")

    return limits
