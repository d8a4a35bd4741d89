"""The leaderboards' Redis side: keys and the Lua scripts that change and read them.

Each script touches one board's keys only (one hash slot), so it runs on Redis
Cluster as on one server. A board ``…lb:{jifen:org:3:2026-11}`` has beside it
``…:applied``, the outbox events already counted in it, scored by event id: applying
an event a second time finds it there and counts nothing. Markers below the oldest
event not yet marked applied in the database can never be asked about again, so the
sweeper trims them to that low-water mark (no clock involved, so a marker cannot
expire while its event might still be retried).

Members with a score of zero or less (everything taken back) stay in the set, so that
a reversal applied before its earning still sums right, but no read ever shows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis

# KEYS: board, applied. ARGV: event id, member, delta, low water (0: don't trim).
# A missing board is not started from this one event (it would look complete and be
# partial): -1 tells the caller to rebuild it from the ledger instead.
APPLY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
if tonumber(ARGV[4]) > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
end
redis.call('ZINCRBY', KEYS[1], ARGV[3], ARGV[2])
return 1
"""

# KEYS: board. ARGV: member, score. Sets one member's score outright (0 removes it),
# on boards that exist only: a missing board is rebuilt whole, never started here.
SET_MEMBER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if tonumber(ARGV[2]) <= 0 then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
"""

# KEYS: rebuilt copy, board, applied. ARGV: snapshot's highest event id, then the event
# ids the snapshot counted but the database had not marked applied yet.
# The copy replaces the board in one step; markers of events the snapshot did not see
# are dropped, so that re-applying those events (the caller does) counts them once.
SWAP = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('PERSIST', KEYS[2])  -- the copy's expiry (for a crashed rebuild) stays behind
else
  redis.call('DEL', KEYS[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf')
for i = 2, #ARGV do redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i]) end
return 1
"""

# KEYS: board. ARGV: member (or ''), limit, around (how many either side, 0 for none).
# Returns {exists, top (member, score…), my score or false, members above me,
#          my position, window offset, window (member, score…), members above window}.
READ = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local top = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '(0', 'WITHSCORES', 'LIMIT', 0, ARGV[2])
local mine = false
if ARGV[1] ~= '' then mine = redis.call('ZSCORE', KEYS[1], ARGV[1]) end
if (not mine) or tonumber(mine) <= 0 then return {1, top} end
local above = redis.call('ZCOUNT', KEYS[1], '(' .. mine, '+inf')
local position = redis.call('ZREVRANK', KEYS[1], ARGV[1])
local around = tonumber(ARGV[3])
if around <= 0 then return {1, top, mine, above, position} end
local from = math.max(position - around, 0)
local window = redis.call('ZREVRANGE', KEYS[1], from, position + around, 'WITHSCORES')
local first_above = 0
if #window > 0 then first_above = redis.call('ZCOUNT', KEYS[1], '(' .. window[2], '+inf') end
local shown = {}
for i = 1, #window, 2 do
  if tonumber(window[i + 1]) > 0 then
    shown[#shown + 1] = window[i]
    shown[#shown + 1] = window[i + 1]
  end
end
return {1, top, mine, above, position, from, shown, first_above}
"""


@dataclass(frozen=True)
class Scripts:
    apply: Any
    set_member: Any
    swap: Any
    read: Any


def scripts(client: redis.Redis) -> Scripts:
    """Registered per client; redis-py loads each by its SHA on first use."""
    return Scripts(
        apply=client.register_script(APPLY),
        set_member=client.register_script(SET_MEMBER),
        swap=client.register_script(SWAP),
        read=client.register_script(READ),
    )


# Every board written by a rebuild holds this member at score 0: no read shows it, and
# it makes an empty board exist, so "no key" always means "not built", never "empty".
SENTINEL = ""


def applied_key(board: str) -> str:
    return f"{board}:applied"


def rebuild_key(board: str, token: str) -> str:
    return f"{board}:rebuild:{token}"


def pairs(flat: Sequence[Any]) -> list[tuple[str, int]]:
    """Redis's flat ``member, score, member, score`` as pairs with integer scores."""
    return [(_text(flat[i]), int(float(cast(Any, flat[i + 1])))) for i in range(0, len(flat), 2)]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
