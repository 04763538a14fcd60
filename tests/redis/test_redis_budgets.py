"""Budgets in a real Redis: two "replicas" (two Spending objects, each with its
own connections) never overspend one budget together; a dead replica's holds
expire; Redis down fails closed (or open, when asked) with a clear error, and
a settle made during the outage is counted once Redis is back."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import trio

from abstractcore_actors._budgets import Budget, RedisBudgets, RedisClient, Spend, Spending, Who
from abstractcore_actors._budgets._redis import RedisUnavailable
from abstractcore_actors.errors import (
    BudgetExceeded,
    BudgetStoreUnavailable,
    ConfigurationError,
    RateLimitExceeded,
)

from .server import RedisProcess, needs_redis, running_redis

pytestmark = needs_redis

LIMIT = 1_000_000  # nano-USD
BUDGET = Budget(scope="team", name="t", period="total", usd=Decimal(LIMIT) / 10**9)
WHO = Who(key="k", team="t")
COUNTER = (BUDGET.label, "t", "total")


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisProcess]:
    async with running_redis(tmp_path) as server:
        yield server


async def replica(redis: RedisProcess, **options: object) -> Spending:
    return await Spending.open([BUDGET], redis_url=redis.url, **options)  # type: ignore[arg-type]


async def test_two_replicas_never_overspend_one_budget(redis: RedisProcess) -> None:
    a, b = await replica(redis), await replica(redis)
    rng = random.Random(5)
    admitted: list[int] = []
    refused = 0

    async def call(spending: Spending, want: int) -> None:
        nonlocal refused
        try:
            held = await spending.hold(WHO, Spend(want, 1))
        except BudgetExceeded:
            refused += 1
            return
        await trio.sleep(rng.random() / 50)
        actual = rng.randrange(want + 1)
        admitted.append(actual)
        await spending.settle(held, Spend(actual, 1), None)

    async with trio.open_nursery() as nursery:
        for i in range(200):
            nursery.start_soon(call, a if i % 2 else b, rng.randrange(1, 60_000))
    assert a.shared is not None
    spent = await a.shared.spent(COUNTER)
    held = await a.shared.held(COUNTER)
    await a.aclose()
    await b.aclose()
    assert refused > 0 and admitted
    assert spent.nano_usd == sum(admitted) <= LIMIT  # nothing lost, never past the limit
    assert held == Spend(0, 0)  # nothing left held


async def test_a_dead_replicas_holds_expire(redis: RedisProcess) -> None:
    now = [1000.0]
    client = RedisClient.from_url(redis.url)
    store = RedisBudgets([BUDGET], client, hold_ttl=60, clock=lambda: now[0])
    await store.reserve(WHO, Spend(LIMIT, 0))  # its replica dies: never settled
    with pytest.raises(BudgetExceeded):
        await store.reserve(WHO, Spend(1, 0))
    now[0] += 61  # the hold's deadline passed
    await store.reserve(WHO, Spend(LIMIT, 0))
    await client.aclose()


async def test_redis_down_fails_closed_and_recovers(redis: RedisProcess) -> None:
    spending = await replica(redis)
    held = await spending.hold(WHO, Spend(100, 1))
    await redis.stop()
    with pytest.raises(BudgetStoreUnavailable, match="refused until it is back"):
        await spending.hold(WHO, Spend(100, 1))
    await spending.settle(held, Spend(70, 1), None)  # kept: Redis is down
    await redis.start()  # the same data (append-only file)
    await spending.hold(WHO, Spend(100, 1))  # works again, after the kept settle
    assert spending.shared is not None
    assert (await spending.shared.spent(COUNTER)).nano_usd == 70
    await spending.aclose()


async def test_fail_open_lets_calls_through_unheld(redis: RedisProcess) -> None:
    spending = await replica(redis, when_store_down="open")
    await redis.stop()
    held = await spending.hold(WHO, Spend(100, 1))
    assert held.reservation is None
    await spending.aclose()


async def test_a_slow_or_absent_redis_is_unavailable_never_a_hang(tmp_path: Path) -> None:
    client = RedisClient.from_url("redis://127.0.0.1:1/0", timeout=0.5)
    with trio.fail_after(5), pytest.raises(RedisUnavailable, match="cannot connect"):
        await client.call("PING")
    with pytest.raises(ConfigurationError, match="redis://"):
        RedisClient.from_url("http://127.0.0.1:6379")
    assert "secret" not in repr(RedisClient.from_url("redis://:secret@127.0.0.1:6379/2"))


async def test_large_amounts_and_zero_survive_the_scripts(redis: RedisProcess) -> None:
    """Lua would print 1e14 and up as "1e+14" and -0 as "-0": the amounts
    travel as Python's own strings."""
    big = Budget(scope="team", name="t", period="total", usd=10**7)  # 1e16 nano-USD
    client = RedisClient.from_url(redis.url)
    store = RedisBudgets([big], client)
    held = await store.reserve(WHO, Spend(3 * 10**15, 0))
    await store.settle(held, Spend(2 * 10**15 + 1, 0))
    assert await store.spent((big.label, "t", "total")) == Spend(2 * 10**15 + 1, 0)
    assert await store.held((big.label, "t", "total")) == Spend(0, 0)
    await client.aclose()


async def test_rate_limits_are_shared_by_the_replicas(redis: RedisProcess) -> None:
    a, b = await replica(redis), await replica(redis)
    who = Who(key="k")  # no budget counts this key: rates only
    first = await a.hold(who, Spend(0, 50), rpm=3, tpm=100)
    await b.hold(who, Spend(0, 10), rpm=3, tpm=100)
    with pytest.raises(RateLimitExceeded, match="100 tokens per minute"):
        await a.hold(who, Spend(0, 41), rpm=3, tpm=100)  # 50 + 10 held across replicas
    await a.settle(first, Spend(0, 5), None)  # 5 used of the 50 held
    await b.hold(who, Spend(0, 41), rpm=3, tpm=100)
    with pytest.raises(RateLimitExceeded, match="3 requests per minute") as caught:
        await a.hold(who, Spend(0, 1), rpm=3, tpm=100)
    assert 0 < caught.value.retry_after <= 60
    await a.aclose()
    await b.aclose()


async def test_a_cooldown_one_replica_finds_is_honoured_by_the_others(
    redis: RedisProcess,
) -> None:
    from abstractcore_actors import open_runtime
    from abstractcore_actors._budgets import RedisHealth
    from abstractcore_actors.testing import Fault, Reply, open_fake_openai_server

    async with (
        open_fake_openai_server(default=Fault.status(500)) as bad,
        open_fake_openai_server(default=Reply(text="fine")) as good,
        open_runtime(env={}) as one,
        open_runtime(env={}) as two,  # another replica's runtime
    ):
        clients = [RedisClient.from_url(redis.url) for _ in range(2)]
        routers = []
        for rt, client in zip((one, two), clients, strict=True):
            options = {"api_key": "sk-x", "max_retries": 0, "failure_threshold": 1}
            dear = rt.create_llm("openai", "dear", base_url=bad.base_url, **options)
            cheap = rt.create_llm("openai", "cheap", base_url=good.base_url, **options)
            routers.append(rt.router("main", [dear, cheap], health=RedisHealth(client)))
        with trio.fail_after(10):
            await routers[0].generate("a")  # dear fails: its breaker opens
            await routers[0].generate("b")  # CircuitOpen: dear cools down, on the board too
            answer = await routers[1].generate("c")  # the other replica asks cheap first
        for client in clients:
            await client.aclose()
    assert [(s.model, s.outcome) for s in answer.route] == [("cheap", "answered")]
    assert len(bad.requests) == 1
