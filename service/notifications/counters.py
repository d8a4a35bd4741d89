"""Unread counts in Redis, so the mini-program's poll on every page show costs no SQL
COUNT. Redis holds nothing the database can't rebuild: a missing count is counted in
SQL once and kept until the next change.

A count is a hash per member, ``count`` beside a generation ``gen``. Whatever changes
a member's unread notifications commits first, then bumps ``gen`` and drops
``count``. A reader that found no count notes ``gen``, counts in SQL and keeps its
count only if ``gen`` is still what it noted (one script), so a count read before a
change committed can't be kept after it. If Redis misses an invalidation (it was
down), the count still ends with its expiry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import cast

import redis

log = logging.getLogger(__name__)

KEEP_SECONDS = 15 * 60

# KEYS[1]: the member's hash; ARGV: the generation the count was read under, the
# count, how long to keep it.
_KEEP_IF_UNCHANGED = """
local gen = redis.call('HGET', KEYS[1], 'gen') or ''
if gen ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'count', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


class UnreadCounts:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._keep = client.register_script(_KEEP_IF_UNCHANGED)

    def key(self, user_id: int) -> str:
        return f"{self._prefix}unread:{user_id}"

    def get(self, user_id: int, count: Callable[[], int]) -> int:
        """The member's unread count; ``count`` (SQL) only when Redis has none."""
        key = self.key(user_id)
        try:
            kept, gen = cast(list[bytes | None], self._client.hmget(key, ["count", "gen"]))
        except redis.RedisError as error:
            log.warning("unread counts: Redis unavailable, counting in SQL: %s", error)
            return count()
        if kept is not None:
            return int(kept)
        fresh = count()
        seen = gen.decode() if isinstance(gen, bytes) else (gen or "")
        try:
            self._keep(keys=[key], args=[seen, fresh, KEEP_SECONDS])
        except redis.RedisError as error:
            log.warning("unread counts: could not keep a count: %s", error)
        return fresh

    def changed(self, user_ids: Iterable[int]) -> None:
        """After a commit that changed these members' unread notifications."""
        people = sorted(set(user_ids))
        if not people:
            return
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for user_id in people:
                    key = self.key(user_id)
                    pipe.hincrby(key, "gen", 1)
                    pipe.hdel(key, "count")
                    pipe.expire(key, KEEP_SECONDS)
                pipe.execute()
        except redis.RedisError as error:
            # Counted anew once the stale count expires (KEEP_SECONDS).
            log.warning("unread counts: %d not invalidated: %s", len(people), error)
