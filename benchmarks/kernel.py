"""Kernel benchmark: ask/reply round trips vs a bare channel pair; 10,000 idle actors.

Targets (issue: actor kernel): ask/reply at least 0.5x the bare
`trio.open_memory_channel` pair's round-trip rate; 10,000 idle actors under
50 MB once they hibernated (the "awake" figure, just after spawning, is
shown too). Both sides run in the same process, one after the other, same loop.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import trio

from abstractcore_actors import ActorContext, Behaviour, open_runtime
from abstractcore_actors._kernel._hibernation import DEFAULT_HIBERNATE_AFTER as HIBERNATE_AFTER

ROUND_TRIPS = 20_000
IDLE_ACTORS = 10_000


class Echo(Behaviour):
    async def receive(self, message: object, ctx: ActorContext) -> Any:
        return message


async def bare_pair_rate(n: int) -> float:
    req_send, req_recv = trio.open_memory_channel[int](0)
    rep_send, rep_recv = trio.open_memory_channel[int](0)

    async def server() -> None:
        async for item in req_recv:
            await rep_send.send(item)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        start = time.perf_counter()
        for i in range(n):
            await req_send.send(i)
            await rep_recv.receive()
        elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return n / elapsed


async def ask_rate(n: int) -> float:
    async with open_runtime() as rt:
        echo = await rt.spawn(Echo)
        start = time.perf_counter()
        for i in range(n):
            await echo.ask(i)
        return n / (time.perf_counter() - start)


async def idle_actors(n: int, *, hibernate: bool) -> tuple[float, float]:
    """Memory taken by `n` idle actors (and the spawn time): awake, or once hibernated."""
    options: dict[str, Any] = {} if hibernate else {"hibernate_after": None}
    async with open_runtime() as rt:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        refs = [await rt.spawn(Echo, mailbox_size=16, **options) for _ in range(n)]
        spawn_s = time.perf_counter() - start
        if hibernate:
            # Idle for the default `hibernate_after` (1 s), each actor hibernates
            # within twice that.
            await trio.sleep(2 * HIBERNATE_AFTER + 0.5)
            assert all(ref.hibernating for ref in refs)
        used = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        return used, spawn_s


async def main() -> None:
    # Interleave the two sides and keep the best of three, so a noisy
    # moment on the machine does not decide the ratio.
    bare = max([await bare_pair_rate(ROUND_TRIPS) for _ in range(3)])
    asks = max([await ask_rate(ROUND_TRIPS) for _ in range(3)])
    ratio = asks / bare
    print("kernel: ask/reply round trips")
    print(f"  bare channel pair   {bare:12,.0f} round trips/s")
    print(f"  actor ask/reply     {asks:12,.0f} round trips/s")
    print(f"  ratio               {ratio:12.2f}   (target >= 0.50)  {_ok(ratio >= 0.5)}")
    awake, spawn_s = await idle_actors(IDLE_ACTORS, hibernate=False)
    used, _ = await idle_actors(IDLE_ACTORS, hibernate=True)
    print(f"kernel: {IDLE_ACTORS:,} idle actors")
    for label, size in (("awake (no hibernation)", awake), ("hibernated", used)):
        print(f"  {label:22} {size / 1e6:9.1f} MB  ({size / IDLE_ACTORS / 1e3:.2f} kB each)")
    print(f"  target                 < 50 MB hibernated  {_ok(used < 50e6)}")
    print(f"  spawn time             {spawn_s * 1e6 / IDLE_ACTORS:9.1f} us per actor")


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


if __name__ == "__main__":
    trio.run(main)
