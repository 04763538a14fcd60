"""The routers' shared deployment health, in Redis (see `_routing/_health.py`):
one hash per router, deployment -> until when it cools down (epoch seconds).
Redis down: nothing is read or written, and routing goes on locally."""

from __future__ import annotations

import logging
import time

from ._redis import RedisClient, RedisError, RedisUnavailable

log = logging.getLogger("abstractcore_actors.budgets")
_KEEP = 3600  # seconds a router's hash outlives its last cooldown


class RedisHealth:
    def __init__(self, client: RedisClient, *, prefix: str = "abstractcore:") -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, router: str) -> str:
        return f"{self.prefix}health:{router}"

    async def cooling(self, router: str) -> dict[str, float]:
        try:
            flat = await self.client.call("HGETALL", self._key(router))
        except (RedisUnavailable, RedisError) as exc:
            log.debug("deployment health not read: %s", exc)
            return {}
        now = time.time()
        pairs = zip(flat[::2], flat[1::2], strict=True)
        return {k.decode(): float(v) for k, v in pairs if float(v) > now}

    async def cool(self, router: str, deployment: str, until: float) -> None:
        try:
            await self.client.call("HSET", self._key(router), deployment, repr(until))
            await self.client.call("EXPIRE", self._key(router), _KEEP)
        except (RedisUnavailable, RedisError) as exc:
            log.debug("deployment health not shared: %s", exc)

    async def clear(self, router: str, deployment: str) -> None:
        try:
            await self.client.call("HDEL", self._key(router), deployment)
        except (RedisUnavailable, RedisError) as exc:
            log.debug("deployment health not cleared: %s", exc)
