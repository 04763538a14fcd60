"""Routing and spend: what a router and a budget add to a call.

(a) router decision: one plan over 5 deployments, per strategy (target < 50 µs);
(b) budget reserve + settle per call, 100 calls at once: in memory, with the
    SQLite ledger (settle waits for its row to be committed; target < 200 µs),
    and on Redis (a redis-server started here, when installed; target < 1 ms);
(c) fallback: a router whose first deployment answers 500 vs the good
    deployment alone (extra ms per call; ideal: one failed round trip);
(d) the gateway with a router in front vs the plain model, 50 concurrent
    requests (ratio of wall time; target <= 1.10).
Every pair runs side by side in this process, on the same fake servers.
"""

from __future__ import annotations

import functools
import random
import tempfile
import time
from pathlib import Path

import httpx
import trio

from abstractcore_actors import open_runtime
from abstractcore_actors._budgets import Budget, CallRecord, Spend, Spending, Who
from abstractcore_actors._routing._deployment import DeploymentState
from abstractcore_actors._routing._needs import Needs
from abstractcore_actors._routing._strategy import RoutingStrategy, plan
from abstractcore_actors.routing import Deployment
from abstractcore_actors.server import GatewayConfig, ModelRoute, serve
from abstractcore_actors.server._config_routers import DeploymentSpec, RouterSpec
from abstractcore_actors.testing import (
    REDIS_SERVER,
    Fault,
    Reply,
    open_fake_openai_server,
    running_redis,
)

KEY = "sk-bench"


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


async def decisions() -> None:
    prices = {f"m{i}": {"input": i + 1, "output": 2 * i + 1} for i in range(5)}
    async with open_runtime(env={}, prices=prices) as rt:
        llms = [
            rt.create_llm("openai-compatible", f"m{i}", base_url="http://127.0.0.1:9/v1")
            for i in range(5)
        ]
        states = [
            DeploymentState(Deployment(llm=llm, weight=i + 1), i) for i, llm in enumerate(llms)
        ]
        for state in states:
            state.ewma_ttft, state.in_flight = random.random(), random.randrange(5)
        needs, rng, n = Needs(tokens=500), random.Random(1), 20_000
        print("(a) router decision, 5 deployments (target < 50 µs)")
        for strategy in RoutingStrategy:
            plan(strategy, states, needs, now=0.0, rng=rng)  # warm the price lookups
            start = time.perf_counter()
            for _ in range(n):
                plan(strategy, states, needs, now=0.0, rng=rng)
            per = (time.perf_counter() - start) / n * 1e6
            print(f"  {strategy.value:<15} {per:6.1f} µs   {_ok(per < 50)}")


def _row(i: int) -> CallRecord:
    return CallRecord(
        ts=time.time(),
        request_id=f"r{i}",
        key="k",
        user=None,
        team="t",
        model="m",
        provider="p",
        prompt_tokens=10,
        completion_tokens=20,
        tokens=30,
        cost_nano_usd=1000,
        outcome="ok",
        latency=0.01,
    )


async def reserve_settle() -> None:
    budgets = [Budget(scope="team", name="t", period="day", usd=10**6, tokens=10**12)]
    print("(b) budget reserve + settle per call, 100 at once")
    with tempfile.TemporaryDirectory() as folder:
        await _reserve_settle(budgets, "memory", 200, None, None)
        await _reserve_settle(budgets, "sqlite", 200, Path(folder) / "spend.db", None)
        if REDIS_SERVER is None:
            print("  redis    (skipped: install Debian's redis-server)")
            return
        async with running_redis(Path(folder)) as redis:
            await _reserve_settle(budgets, "redis", 1000, None, redis.url)


async def _reserve_settle(
    budgets: list[Budget], label: str, target: float, path: Path | None, url: str | None
) -> None:
    who, want, n = Who(key="k", team="t"), Spend(5000, 100), 5000
    spending = await Spending.open(budgets, path, redis_url=url)
    done = 0

    async def worker(count: int) -> None:
        nonlocal done
        for i in range(count):
            held = await spending.hold(who, want)
            row = _row(i) if spending.ledger is not None else None
            await spending.settle(held, Spend(4000, 80), row)
            done += 1

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(100):
            nursery.start_soon(worker, n // 100)
    per = (time.perf_counter() - start) / done * 1e6
    commits = spending.ledger.commits if spending.ledger is not None else 0
    await spending.aclose()
    extra = f"  ({done / commits:.0f} calls per commit)" if commits else ""
    print(
        f"  {label:<8} {per:7.1f} µs per call (target < {target:g} µs)  {_ok(per < target)}{extra}"
    )


async def fallback() -> None:
    calls = 100
    async with (
        open_fake_openai_server(default=Fault.status(500)) as bad,
        open_fake_openai_server(default=Reply(text="ok", ttft=0.005)) as good,
        open_runtime(env={}) as rt,
    ):
        options = {"api_key": KEY, "max_retries": 0, "failure_threshold": 10**9}
        direct = rt.create_llm("openai", "g", base_url=good.base_url, **options)
        failing = rt.create_llm("openai", "b", base_url=bad.base_url, **options)
        router = rt.router("r", [failing, direct])
        times = {}
        for name, llm in (("direct", direct), ("router", router), ("direct", direct)):
            start = time.perf_counter()
            for _ in range(calls):
                await llm.generate("hi")
            times[name] = (time.perf_counter() - start) / calls
    extra = (times["router"] - times["direct"]) * 1000
    print("(c) fallback after a failed first deployment (500), per call")
    print(
        f"  direct {times['direct'] * 1000:6.2f} ms   routed {times['router'] * 1000:6.2f} ms"
        f"   fallback adds {extra:5.2f} ms (one failed round trip)"
    )


async def gateway() -> None:
    concurrency, rounds = 50, 4
    async with (
        open_fake_openai_server(default=Reply(text="tok " * 20, ttft=0.02)) as upstream,
        open_runtime(env={}) as rt,
    ):
        options = {"base_url": upstream.base_url, "api_key": KEY, "max_retries": 0}
        route = ModelRoute(provider="openai-compatible", model="m", options=options)
        config = GatewayConfig(
            models={"plain": route},
            routers={"routed": RouterSpec(deployments=(DeploymentSpec(route=route, use="plain"),))},
            passthrough=False,
        )
        async with trio.open_nursery() as nursery:
            port = await nursery.start(functools.partial(serve, rt, config, port=0))
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                timeout=30,
                limits=httpx.Limits(max_connections=concurrency),
            ) as http:

                async def burst(model: str) -> float:
                    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}

                    async def one() -> None:
                        answer = await http.post("/v1/chat/completions", json=body)
                        assert answer.status_code == 200, answer.text

                    start = time.perf_counter()
                    async with trio.open_nursery() as inner:
                        for _ in range(concurrency):
                            inner.start_soon(one)
                    return time.perf_counter() - start

                await burst("plain")
                await burst("routed")
                plain, routed = [], []
                for _ in range(rounds):
                    plain.append(await burst("plain"))
                    routed.append(await burst("routed"))
            nursery.cancel_scope.cancel()
    ratio = min(routed) / min(plain)
    print(f"(d) gateway, {concurrency} concurrent requests: router in front vs the plain model")
    print(
        f"  plain {min(plain) * 1000:7.1f} ms   routed {min(routed) * 1000:7.1f} ms   "
        f"ratio {ratio:5.3f}  (target <= 1.10)  {_ok(ratio <= 1.10)}"
    )


async def main() -> None:
    await decisions()
    await reserve_settle()
    await fallback()
    await gateway()


if __name__ == "__main__":
    trio.run(main)
