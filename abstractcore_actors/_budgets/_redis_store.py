"""Budgets shared by several gateway replicas, in Redis.

The same reserve/settle rule as `BudgetBook`, made atomic across replicas
by Lua scripts (Redis runs a script with nothing in between): a
reservation checks spent + held + want for every budget that counts the
call and holds it, or holds nothing; a settle releases the hold and adds
what was spent, to the period the call ends in.

Each hold is also a record of its own with a deadline (`hold_ttl`, longer
than any call may run): a replica killed with calls in flight leaves holds
that nobody will settle, and the next reservation by any replica releases
the expired ones first. Keys of day and month totals expire a day after
their period, so Redis does not grow without end. Keys are under `prefix`
(one Redis may serve several gateways). A single Redis (or a primary with
replicas), not Redis Cluster: a script touches keys it only learns as it
runs (the expired holds' counters).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence

from ._book import CounterKey, Reservation, counting, refusal, unpriced
from ._redis import RedisClient
from ._spec import Budget, Spend, Who

# Amounts go in and out of Redis as the strings Python wrote (never through
# Lua's numbers, which print 1e14 and up as "1e+14" and 0 negated as "-0",
# both refused by HINCRBY); Lua compares them as doubles, exact to 2**53
# (9e15 nano-USD: $9 million per budget and period).
# A hold's release, the same for a settle and for an expired hold: take its
# amounts off every counter it held, then forget it.
_RELEASE = """
local function release(zset, prefix, id)
  local hold = prefix .. 'hold:' .. id
  local f = redis.call('HMGET', hold, 'dn', 'dt', 'c')
  if f[3] then
    for counter in string.gmatch(f[3], '[^\\n]+') do
      redis.call('HINCRBY', prefix .. 'held:' .. counter, 'n', f[1])
      redis.call('HINCRBY', prefix .. 'held:' .. counter, 't', f[2])
    end
  end
  redis.call('DEL', hold)
  redis.call('ZREM', zset, id)
end
"""

_RESERVE = (
    _RELEASE
    + """
local zset, prefix, now = KEYS[1], ARGV[1], tonumber(ARGV[2])
-- holds whose replica never settled them (it died): release them first
for _, id in ipairs(redis.call('ZRANGEBYSCORE', zset, '-inf', now)) do
  release(zset, prefix, id)
end
local id, deadline = ARGV[3], ARGV[4]
local n, t, count = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local names = {}
for i = 0, count - 1 do
  local name = ARGV[10 + i * 4]
  local limit_n, limit_t = tonumber(ARGV[11 + i * 4]), tonumber(ARGV[12 + i * 4])
  local s = redis.call('HMGET', prefix .. 'spent:' .. name, 'n', 't')
  local h = redis.call('HMGET', prefix .. 'held:' .. name, 'n', 't')
  local sn, st = tonumber(s[1] or 0), tonumber(s[2] or 0)
  local hn, ht = tonumber(h[1] or 0), tonumber(h[2] or 0)
  if limit_n >= 0 and sn + hn + n > limit_n then
    return {0, i, 'usd', s[1] or '0', h[1] or '0'}
  end
  if limit_t >= 0 and st + ht + t > limit_t then
    return {0, i, 'tokens', s[2] or '0', h[2] or '0'}
  end
  names[#names + 1] = name
end
for i, name in ipairs(names) do
  local held = prefix .. 'held:' .. name
  redis.call('HINCRBY', held, 'n', ARGV[5])
  redis.call('HINCRBY', held, 't', ARGV[6])
  local expires = tonumber(ARGV[13 + (i - 1) * 4])
  if expires > 0 then redis.call('EXPIREAT', held, expires) end
end
local counters = table.concat(names, '\\n')
redis.call('HSET', prefix .. 'hold:' .. id, 'dn', ARGV[8], 'dt', ARGV[9], 'c', counters)
redis.call('ZADD', zset, deadline, id)
return {1}
"""
)

_SETTLE = (
    _RELEASE
    + """
local zset, prefix, id = KEYS[1], ARGV[1], ARGV[2]
release(zset, prefix, id)
local count = tonumber(ARGV[5])
for i = 0, count - 1 do
  local spent = prefix .. 'spent:' .. ARGV[6 + i * 2]
  redis.call('HINCRBY', spent, 'n', ARGV[3])
  redis.call('HINCRBY', spent, 't', ARGV[4])
  local expires = tonumber(ARGV[7 + i * 2])
  if expires > 0 then redis.call('EXPIREAT', spent, expires) end
end
return 1
"""
)

_DAY = 86_400.0


def counter_name(key: CounterKey) -> str:
    return "|".join(key)


def _expiry(resets: float | None) -> int:
    return 0 if resets is None else int(resets + _DAY)


class RedisBudgets:
    """The budget book in Redis (see the module docstring); raises
    RedisUnavailable when Redis cannot be reached."""

    def __init__(
        self,
        budgets: Sequence[Budget],
        client: RedisClient,
        *,
        prefix: str = "abstractcore:",
        hold_ttl: float = 900.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.budgets = tuple(budgets)
        self.client = client
        self.prefix = prefix
        self.hold_ttl = hold_ttl
        self._clock = clock
        self._zset = prefix + "holds"

    async def reserve(self, who: Who, want: Spend) -> Reservation:
        now = self._clock()
        found = counting(self.budgets, who, now)
        if not found:
            return Reservation(who=who, want=want, keys=())
        for budget, _, _ in found:
            if budget.usd is not None and not want.priced:
                raise unpriced(budget)
        hold_id = uuid.uuid4().hex
        args: list[str | int | float] = [
            self.prefix,
            now,
            hold_id,
            now + self.hold_ttl,
            str(want.nano_usd),
            str(want.tokens),
            len(found),
            str(-want.nano_usd),
            str(-want.tokens),
        ]
        for budget, key, resets in found:
            limit_n = budget.limit_nano_usd
            args += [
                counter_name(key),
                "-1" if limit_n is None else str(limit_n),
                "-1" if budget.tokens is None else str(budget.tokens),
                _expiry(resets),
            ]
        reply = await self.client.script(_RESERVE, [self._zset], args)
        if int(reply[0]) == 0:
            index, unit, spent, held = (
                int(reply[1]),
                reply[2].decode(),
                int(reply[3]),
                int(reply[4]),
            )
            budget, _, resets = found[index]
            wanted = want.nano_usd if unit == "usd" else want.tokens
            raise refusal(budget, unit, spent, held, wanted, resets)
        return Reservation(who=who, want=want, keys=tuple(k for _, k, _ in found), id=hold_id)

    async def settle(self, reservation: Reservation, actual: Spend) -> None:
        """Release the hold and add `actual`; once (marked settled only when
        Redis took it, so a retry after an outage still counts it)."""
        if reservation.settled or not reservation.keys:
            return
        found = counting(self.budgets, reservation.who, self._clock())
        args: list[str | int | float] = [
            self.prefix,
            reservation.id,
            str(actual.nano_usd),
            str(actual.tokens),
            len(found),
        ]
        for _, key, resets in found:
            args += [counter_name(key), _expiry(resets)]
        await self.client.script(_SETTLE, [self._zset], args)
        reservation.settled = True

    async def spent(self, key: CounterKey) -> Spend:
        return await self._read("spent:", key)

    async def held(self, key: CounterKey) -> Spend:
        return await self._read("held:", key)

    async def _read(self, kind: str, key: CounterKey) -> Spend:
        n, t = await self.client.call("HMGET", self.prefix + kind + counter_name(key), "n", "t")
        return Spend(int(n or 0), int(t or 0))
