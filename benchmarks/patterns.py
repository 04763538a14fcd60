"""Patterns on real loopback HTTP: race latency and loser cleanup, 1,000 concurrent
calls, and hedging against a heavy latency tail. Each figure is printed next
to its ideal; both sides of every ratio run in this process (one fake
server runs in a child process, the same for both sides).

Targets (issue: concurrency patterns):
- race of three providers at 100/300/500 ms: time to result / 100 ms <= 1.1;
  winner to every loser's socket closed <= 20 ms;
- 1,000 concurrent 500 ms calls: wall time / 500 ms <= 1.3 (a lean fake server
  in a child process, as a real provider is; see bench_concurrency);
- heavy tail (p99 ~ 10x median): p99 of hedge / p99 of plain <= 0.5.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import httpx
import trio

from abstractcore_actors import hedge, open_runtime, race
from abstractcore_actors._providers._http11 import Http11Client, Origin
from abstractcore_actors.testing import RecordedRequest, Reply, open_fake_openai_server

sys.path.insert(0, str(Path(__file__).parent))
from _upstream import upstream_process


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


_BODY = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}


# Each figure is the best of a few bursts, after a warm-up burst (as timeit
# takes the minimum: other work on the machine only ever adds time).
_ROUNDS = 3


async def _best(calls: int, call: Callable[[], Awaitable[object]]) -> float:
    await _timed(calls, call)  # warm-up: every connection opened
    return min([await _timed(calls, call) for _ in range(_ROUNDS)])


async def _timed(calls: int, call: Callable[[], Awaitable[object]]) -> float:
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for _ in range(calls):
            nursery.start_soon(call)
    return trio.current_time() - start


async def _next(
    one: Callable[[trio.SocketStream], Awaitable[None]], idle: list[trio.SocketStream]
) -> None:
    await one(idle.pop())


async def _raw_floor(base_url: str, calls: int) -> float:
    """The same calls as bare sockets: one pre-encoded request each on an open
    connection, the answer read up to its Content-Length. No HTTP client can
    beat this on one trio thread."""
    origin = Origin(base_url)
    body = json.dumps(_BODY).encode()
    request = (
        b"POST %s/chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s"
        % (origin.prefix.encode(), origin.authority.encode(), len(body), body)
    )
    streams = [await trio.open_tcp_stream(origin.host, origin.port) for _ in range(calls)]

    async def one(stream: trio.SocketStream) -> None:
        await stream.send_all(request)
        data = b""
        while True:
            data += await stream.receive_some(65536)
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(rest) >= length:
                    return

    try:
        walls = []
        for _ in range(1 + _ROUNDS):  # the first round warms up
            idle = list(streams)
            walls.append(await _timed(calls, partial(_next, one, idle)))
        return min(walls[1:])
    finally:
        for stream in streams:
            await stream.aclose()


async def _concurrent(base_url: str, calls: int) -> dict[str, float]:
    """Wall time of `calls` concurrent calls, each way (warm: every connection
    already open, as in a service that has been running)."""
    walls = {"raw": await _raw_floor(base_url, calls)}
    # httpx as a user would set it up for a burst (no cap on connections;
    # keep-alive left at its default: with 1,000 kept alive, httpcore's pool
    # rescans them all on every request, ~40x)
    limits = httpx.Limits(max_connections=None)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        url = f"{base_url}/chat/completions"
        walls["httpx"] = await _best(calls, lambda: client.post(url, json=_BODY))
    ours = Http11Client(base_url, {}, connect_timeout=10, read_timeout=60, max_keepalive=calls)

    async def lean_call() -> None:
        await (await ours.post("/chat/completions", json.dumps(_BODY).encode())).read()

    try:
        walls["client"] = await _best(calls, lean_call)
    finally:
        await ours.aclose()
    async with open_runtime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=base_url, max_concurrent=calls)
        walls["cold"] = await _timed(calls, lambda: llm.generate("Hi"))  # new connections
        walls["warm"] = await _best(calls, lambda: llm.generate("Hi"))  # pooled
    return walls


async def bench_concurrency(calls: int = 1000) -> None:
    """1,000 concurrent 500 ms calls, the calls in this process, over loopback HTTP.

    The server runs in a child process, as a real provider does: the calls'
    CPU is this process's, the server's is its own. The target is measured
    against the lean server (benchmarks/_upstream.py --lean), whose answers
    come 500 ms after each request however many are in flight; against the
    project's fake server (h11 in Python, one core) the server itself is
    the limit, which the raw-socket floor of that run shows.
    """
    async with upstream_process(0.5, lean=True) as base_url:
        lean = await _concurrent(base_url, calls)
    async with upstream_process(0.5) as base_url:
        scripted = await _concurrent(base_url, calls)
    ratio = lean["warm"] / 0.5
    rows = [
        ("raw", "bare sockets, pre-encoded    ", "(the floor: no HTTP client)"),
        ("httpx", "bare httpx.AsyncClient       ", "(httpcore's pool)"),
        ("client", "bare Http11Client            ", "(the runtime's HTTP client)"),
        ("cold", "runtime, cold                ", "(1,000 new connections)"),
    ]
    print(f"concurrency: {calls:,} concurrent calls of 500 ms, the calls in this process")
    print("  (wall time / 500 ms, best of 3 bursts; the server in a child process)")
    print("                                 lean server   fake server (h11)")
    for key, label, why in rows:
        print(f"    {label}{lean[key] / 0.5:7.3f}      {scripted[key] / 0.5:7.3f}   {why}")
    print(
        f"    runtime, warm                {ratio:7.3f}      {scripted['warm'] / 0.5:7.3f}   "
        f"ideal 1.000   target <= 1.3 (lean server)   {_ok(ratio <= 1.3)}"
    )


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
