"""The sync facade in a thread pool vs the async runtime, for the claims of
the plan this project grew from ("3-5x server throughput", "10-100x UI
responsiveness"), measured side by side in this process. docs/performance.md
publishes the table and the plots (`--plot` writes them to docs/img/).

1. N users at once (1, 10, 100, 1,000), one chat call each, against the fake
   OpenAI server in a process of its own answering after 0.5 s (a provider's
   latency; the lean server, so the server's own CPU is not what is
   measured). Sync: each user's call is `SyncLLM.generate` in a pool of 40
   threads (anyio's default for sync endpoints, as FastAPI or Gradio run
   them). Async: each user is a task awaiting `llm.generate`. Throughput,
   p50 / p99 latency, and the process's resident memory added.
2. Time to cancel: 100 streamed calls in flight, waiting on a slow first
   token (3 s); all are stopped 0.2 s in. Async: one cancel scope. Sync:
   each thread can stop only when its iterator next yields.
3. Responsiveness while the local model generates: the largest delay of a
   10 ms ticker on the caller's loop during `await llm.generate(...)`, vs a
   sync UI thread, blocked for the whole generation.
"""

from __future__ import annotations

import concurrent.futures
import statistics
import sys
import threading
import time
from pathlib import Path

import trio

from abstractcore_actors import open_runtime
from abstractcore_actors.sync import SyncRuntime

sys.path.insert(0, str(Path(__file__).parent))
from _upstream import upstream_process

USERS = (1, 10, 100, 1000)
POOL = 40  # anyio's default thread limit for sync endpoints
LATENCY = 0.5
IMG = Path(__file__).parent.parent / "docs" / "img"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _row(wall: float, latencies: list[float], rss: float) -> dict[str, float]:
    latencies = sorted(latencies)
    return {
        "throughput": len(latencies) / wall,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rss": rss,
    }


async def async_users(url: str, users: int) -> dict[str, float]:
    async with open_runtime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=url, max_concurrent=2000)
        await llm.generate("warm up")
        latencies: list[float] = []
        before = _rss_mb()

        async def user() -> None:
            start = time.perf_counter()
            await llm.generate("hi")
            latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(users):
                nursery.start_soon(user)
        return _row(time.perf_counter() - start, latencies, _rss_mb() - before)


def sync_users(url: str, users: int) -> dict[str, float]:
    with SyncRuntime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=url, max_concurrent=2000)
        llm.generate("warm up")
        latencies: list[float] = []
        before = _rss_mb()

        def user(queued: float) -> None:
            llm.generate("hi")
            latencies.append(time.perf_counter() - queued)  # waiting for a thread counts

        with concurrent.futures.ThreadPoolExecutor(POOL) as pool:
            start = time.perf_counter()
            for future in [pool.submit(user, time.perf_counter()) for _ in range(users)]:
                future.result()
            wall = time.perf_counter() - start
        return _row(wall, latencies, _rss_mb() - before)


async def async_cancel(url: str) -> float:
    async with open_runtime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=url, max_concurrent=2000)

        async def reader() -> None:
            async with llm.stream("hi") as chunks:
                async for _ in chunks:
                    pass

        async with trio.open_nursery() as nursery:
            for _ in range(100):
                nursery.start_soon(reader)
            await trio.sleep(0.2)
            stop = time.perf_counter()
            nursery.cancel_scope.cancel()
        return time.perf_counter() - stop


def sync_cancel(url: str) -> float:
    with SyncRuntime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=url, max_concurrent=2000)
        stop = threading.Event()

        def reader() -> None:
            for _ in llm.stream("hi"):
                if stop.is_set():
                    break  # the earliest a thread can leave: when a chunk comes

        with concurrent.futures.ThreadPoolExecutor(100) as pool:
            futures = [pool.submit(reader) for _ in range(100)]
            time.sleep(0.2)
            start = time.perf_counter()
            stop.set()
            for future in futures:
                future.result()
        return time.perf_counter() - start


async def responsiveness() -> tuple[float, float]:
    """(largest ticker delay during an async local generation, the generation's length)."""
    async with open_runtime(env={}) as rt:
        llm = rt.create_llm("local", temperature=0.0)
        await llm.generate("warm up", max_tokens=4)
        worst = 0.0
        done = trio.Event()

        async def ticker() -> None:
            nonlocal worst
            while not done.is_set():
                before = time.perf_counter()
                await trio.sleep(0.01)
                worst = max(worst, time.perf_counter() - before - 0.01)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            start = time.perf_counter()
            await llm.generate("Write a paragraph about the sea.", max_tokens=120)
            took = time.perf_counter() - start
            done.set()
    return worst, took


def plot(rows: dict[str, dict[int, dict[str, float]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    IMG.mkdir(parents=True, exist_ok=True)
    for key, label, name in (
        ("throughput", "calls per second", "sync_vs_async_throughput.png"),
        ("p99", "p99 latency (s)", "sync_vs_async_p99.png"),
    ):
        figure, axes = plt.subplots(figsize=(6, 3.6), dpi=100)
        for side, marker in (("async runtime", "o"), (f"sync facade, {POOL} threads", "s")):
            values = [rows[side][n][key] for n in USERS]
            axes.plot(USERS, values, marker=marker, label=side)
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("concurrent users (one call each, 0.5 s upstream latency)")
        axes.set_ylabel(label)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(IMG / name)
        plt.close(figure)


async def main() -> None:
    rows: dict[str, dict[int, dict[str, float]]] = {
        "async runtime": {},
        f"sync facade, {POOL} threads": {},
    }
    async with upstream_process(LATENCY, lean=True) as url:
        for users in USERS:
            rows["async runtime"][users] = await async_users(url, users)
            rows[f"sync facade, {POOL} threads"][users] = await trio.to_thread.run_sync(
                sync_users, url, users
            )
    print(f"N users at once, one call each, {LATENCY} s upstream latency:")
    print(f"  {'users':>6} {'':<24} {'calls/s':>9} {'p50 s':>7} {'p99 s':>7} {'RSS +MB':>8}")
    for users in USERS:
        for side, by_users in rows.items():
            r = by_users[users]
            print(
                f"  {users:>6} {side:<24} {r['throughput']:>9.1f} {r['p50']:>7.2f} "
                f"{r['p99']:>7.2f} {r['rss']:>8.1f}"
            )
        ratio = (
            rows["async runtime"][users]["throughput"]
            / rows[f"sync facade, {POOL} threads"][users]["throughput"]
        )
        print(f"  {'':>6} {'async / sync throughput':<24} {ratio:>9.2f}x")
    async with upstream_process(3.0) as url:
        cancel_async = await async_cancel(url)
        cancel_sync = await trio.to_thread.run_sync(sync_cancel, url)
    print(
        f"time to stop 100 streams waiting on a 3 s first token: async {cancel_async * 1000:.0f} "
        f"ms, sync {cancel_sync * 1000:.0f} ms ({cancel_sync / cancel_async:.0f}x)"
    )
    worst, took = await responsiveness()
    print(
        f"while the local model generates ({took:.2f} s): the async caller's loop is late by "
        f"at most {worst * 1000:.1f} ms; a sync UI thread waits {took:.2f} s "
        f"({took / max(worst, 1e-4):.0f}x)"
    )
    if "--plot" in sys.argv:
        plot(rows)
        print(f"plots written to {IMG}")


if __name__ == "__main__":
    trio.run(main)
