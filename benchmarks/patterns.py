"""Patterns on real loopback HTTP: race latency and loser cleanup, 1,000 concurrent
calls, and hedging against a heavy latency tail. Each figure is printed next
to its ideal; both sides of every ratio run in this process (one fake
server runs in a child process, the same for both sides).

Targets (issue: concurrency patterns):
- race of three providers at 100/300/500 ms: time to result / 100 ms <= 1.1;
  winner to every loser's socket closed <= 20 ms;
- 1,000 concurrent 500 ms calls: wall time / 500 ms <= 1.3 (the fake server
  in a child process, as a real provider is; see bench_concurrency);
- heavy tail (p99 ~ 10x median): p99 of hedge / p99 of plain <= 0.5.
"""

from __future__ import annotations

import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import httpx
import trio

from abstractcore_actors import hedge, open_runtime, race
from abstractcore_actors.providers._pool import StackPool
from abstractcore_actors.testing import RecordedRequest, Reply, open_fake_openai_server


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


async def bench_race() -> None:
    latency = {"p100": 0.1, "p300": 0.3, "p500": 0.5}

    def route(request: RecordedRequest) -> Reply:
        model = request.json["model"]  # type: ignore[index]
        return Reply(chunks=["answer", " from", f" {model}"], ttft=latency[model])

    totals, cleanups = [], []
    async with open_fake_openai_server(route) as server, open_runtime(env={}) as rt:
        llms = [
            rt.create_llm("openai-compatible", m, base_url=server.base_url, name=m) for m in latency
        ]
        for _ in range(10):
            start = trio.current_time()
            result = await race(llms, "Hi")
            done = trio.current_time()
            assert server.active_requests == 0  # losers gone before race returned
            winner_at = result.winners[0].ended_at or done
            totals.append(done - start)
            cleanups.append(done - winner_at)
    ratio = statistics.median(totals) / 0.1
    cleanup_ms = max(cleanups) * 1000
    print("race: three providers at 100 / 300 / 500 ms (10 races)")
    print(
        f"  time to result / 100 ms   {ratio:6.3f}   ideal 1.000   target <= 1.1   "
        f"{_ok(ratio <= 1.1)}"
    )
    print(
        f"  winner -> losers closed   {cleanup_ms:6.2f} ms ideal 0      target <= 20 ms "
        f"{_ok(cleanup_ms <= 20)}"
    )


@asynccontextmanager
async def _upstream_process(ttft: float) -> AsyncIterator[str]:
    """The fake OpenAI server in a child process (benchmarks/_upstream.py); yields its base URL."""
    script = str(Path(__file__).with_name("_upstream.py"))
    process = await trio.lowlevel.open_process(
        [sys.executable, script, str(ttft)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        line = b""
        while not line.endswith(b"\n"):
            data = await process.stdout.receive_some()
            if not data:
                raise RuntimeError("the upstream process exited before it listened")
            line += data
        yield line.decode().strip()
    finally:
        with trio.CancelScope(shield=True):
            await process.stdin.aclose()  # its cue to stop
            with trio.move_on_after(5):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _burst(client: httpx.AsyncClient, url: str, calls: int) -> float:
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for _ in range(calls):
            nursery.start_soon(partial(client.post, url, json=body))
    return trio.current_time() - start


async def _concurrent(base_url: str, calls: int) -> tuple[float, float, float, float]:
    """Wall times of `calls` concurrent calls: (bare httpx on its stock pool, bare
    httpx on our StackPool, runtime cold, runtime warm)."""
    # The same load through one bare httpx client: what the HTTP stack can do
    # on its own, with httpcore's pool and then with the pool the runtime uses.
    url = f"{base_url}/chat/completions"
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=32)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        stock = await _burst(client, url, calls)
    async with httpx.AsyncClient(timeout=60, transport=StackPool(max_keepalive=calls)) as client:
        await _burst(client, url, calls)  # cold, to compare warm with warm
        stack = await _burst(client, url, calls)
    async with open_runtime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=base_url, max_concurrent=calls)
        walls = []
        for _ in range(2):  # cold (1,000 new connections), then warm (pooled)
            start = trio.current_time()
            async with trio.open_nursery() as nursery:
                for _ in range(calls):
                    nursery.start_soon(llm.generate, "Hi")
            walls.append(trio.current_time() - start)
    return stock, stack, walls[0], walls[1]


async def bench_concurrency(calls: int = 1000) -> None:
    """1,000 concurrent 500 ms calls, the calls in this process, over loopback HTTP.

    The target is measured with the fake server in a child process, as a
    real provider is: the calls' CPU is this process's, the server's is its
    own. The same load with the server inside this process (sharing its one
    trio thread, so the server's CPU adds to every figure) is printed too.
    Each setup prints a bare httpx client, on httpcore's pool and on the
    runtime's StackPool, next to the runtime; all figures are wall / 500 ms.
    """
    async with _upstream_process(0.5) as base_url:
        stock, stack, cold, warm = await _concurrent(base_url, calls)
    async with open_fake_openai_server(default=Reply(text="ok", ttft=0.5)) as server:
        stock_in, stack_in, cold_in, warm_in = await _concurrent(server.base_url, calls)
    ratio = warm / 0.5
    print(f"concurrency: {calls:,} concurrent calls of 500 ms, the calls in this process")
    print("  fake server in a child process (as a real provider):")
    print(f"    bare httpx, stock pool     {stock / 0.5:6.3f}   (httpcore's, 32 kept alive)")
    print(f"    bare httpx, StackPool warm {stack / 0.5:6.3f}   (the runtime's HTTP floor)")
    print(f"    runtime, cold / 500 ms     {cold / 0.5:6.3f}   (1,000 new connections)")
    print(
        f"    runtime, warm / 500 ms     {ratio:6.3f}   ideal 1.000   target <= 1.3   "
        f"{_ok(ratio <= 1.3)}"
    )
    print("  fake server in this process (its CPU shares this trio thread):")
    print(f"    bare httpx, stock pool     {stock_in / 0.5:6.3f}")
    print(f"    bare httpx, StackPool warm {stack_in / 0.5:6.3f}")
    print(f"    runtime, cold / 500 ms     {cold_in / 0.5:6.3f}")
    print(f"    runtime, warm / 500 ms     {warm_in / 0.5:6.3f}")


async def bench_hedge(calls: int = 300, parallel: int = 30) -> None:
    rng = random.Random(42)

    def route(request: RecordedRequest) -> Reply:
        # median 50 ms, 3% of calls take 800 ms: p99 is 16x the median
        slow = rng.random() < 0.03
        return Reply(text="ok", ttft=0.8 if slow else 0.05)

    async with open_fake_openai_server(route) as server, open_runtime(env={}) as rt:
        llm = rt.create_llm(
            "openai-compatible", "m", base_url=server.base_url, max_concurrent=4 * parallel
        )

        async def measure(call: object) -> list[float]:
            times: list[float] = []
            limit = trio.CapacityLimiter(parallel)

            async def one() -> None:
                async with limit:
                    start = trio.current_time()
                    await call()  # type: ignore[operator]
                    times.append(trio.current_time() - start)

            async with trio.open_nursery() as nursery:
                for _ in range(calls):
                    nursery.start_soon(one)
            return sorted(times)

        plain = await measure(lambda: llm.generate("Hi"))
        hedged = await measure(lambda: hedge(llm, "Hi", after=0.1, max_attempts=3))

    def p(times: list[float], q: float) -> float:
        return times[min(len(times) - 1, int(q * len(times)))]

    ratio = p(hedged, 0.99) / p(plain, 0.99)
    print(f"hedge: heavy-tailed server, {calls} calls each (p50 / p99)")
    print(f"  plain    {p(plain, 0.5) * 1000:7.1f} / {p(plain, 0.99) * 1000:7.1f} ms")
    print(
        f"  hedged   {p(hedged, 0.5) * 1000:7.1f} / {p(hedged, 0.99) * 1000:7.1f} ms (after=100 ms)"
    )
    print(
        f"  p99 hedge / plain         {ratio:6.3f}   ideal ~0.19   target <= 0.5   "
        f"{_ok(ratio <= 0.5)}"
    )


async def main() -> None:
    _raise_fd_limit()
    await bench_race()
    await bench_concurrency()
    await bench_hedge()


if __name__ == "__main__":
    t0 = time.perf_counter()
    trio.run(main)
    print(f"(patterns benchmark took {time.perf_counter() - t0:.1f}s)")
