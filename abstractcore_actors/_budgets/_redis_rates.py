"""Requests and tokens per minute per key, shared by every replica, in Redis.

The same sliding window as `_rates.py`, as Lua scripts: each admitted
request is an entry (a sorted set scored by time, its tokens in a hash,
their sum in a counter); entries older than the window are dropped first.
An entry holds its worst case until it settles, then what it used; unlike
the in-process window, a hold also leaves the window after 60 s, so a
replica that died cannot block a key for longer than that.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import attrs

from ..errors import RateLimitExceeded
from ._rates import WINDOW
from ._redis import RedisClient

# Counts travel as Python's strings (see _redis_store.py); DECRBY, not a negated INCRBY.
_ADMIT = """
local entries, tokens, total = KEYS[1], KEYS[2], KEYS[3]
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local rpm, tpm, want = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', entries, '-inf', now - window)) do
  local used = redis.call('HGET', tokens, id)
  if used then redis.call('DECRBY', total, used) end
  redis.call('HDEL', tokens, id)
  redis.call('ZREM', entries, id)
end
local count = redis.call('ZCARD', entries)
if rpm >= 0 and count >= rpm then
  local oldest = redis.call('ZRANGE', entries, count - rpm, count - rpm, 'WITHSCORES')
  return {0, 'requests', tostring(tonumber(oldest[2]) + window - now)}
end
local sum = tonumber(redis.call('GET', total) or '0')
if tpm >= 0 and sum + want > tpm then
  local first = redis.call('ZRANGE', entries, 0, 0, 'WITHSCORES')
  local wait = window
  if first[2] then wait = tonumber(first[2]) + window - now end
  return {0, 'tokens', tostring(wait)}
end
redis.call('ZADD', entries, ARGV[1], ARGV[6])
redis.call('HSET', tokens, ARGV[6], ARGV[5])
redis.call('INCRBY', total, ARGV[5])
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, math.ceil(window * 2)) end
return {1}
"""

_SETTLE = """
local tokens, total, id = KEYS[2], KEYS[3], ARGV[1]
local held = redis.call('HGET', tokens, id)
if held then
  redis.call('DECRBY', total, held)
  redis.call('HSET', tokens, id, ARGV[2])
  redis.call('INCRBY', total, ARGV[2])
end
return 1
"""


@attrs.define(eq=False)
class SharedTicket:
    key: str
    id: str
    settled: bool = False


class RedisRates:
    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str = "abstractcore:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self._clock = clock

    def _keys(self, key: str) -> list[str]:
        base = f"{self.prefix}rate:{key}"
        return [base + ":entries", base + ":tokens", base + ":total"]

    async def admit(self, key: str, rpm: int | None, tpm: int | None, tokens: int) -> SharedTicket:
        entry = uuid.uuid4().hex
        args: list[str | int | float] = [
            repr(self._clock()),
            WINDOW,
            -1 if rpm is None else rpm,
            -1 if tpm is None else tpm,
            str(tokens),
            entry,
        ]
        reply = await self.client.script(_ADMIT, self._keys(key), args)
        if int(reply[0]) == 0:
            unit = reply[1].decode()
            limit = rpm if unit == "requests" else tpm
            wait = max(float(reply[2]), 0.0)
            raise RateLimitExceeded(key, unit=unit, limit=limit or 0, retry_after=wait)
        return SharedTicket(key=key, id=entry)

    async def settle(self, ticket: SharedTicket, tokens: int) -> None:
        if ticket.settled:
            return
        await self.client.script(_SETTLE, self._keys(ticket.key), [ticket.id, str(tokens)])
        ticket.settled = True
