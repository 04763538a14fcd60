"""Kernel benchmark: ask/reply round trips vs a bare channel pair; 10,000 idle actors.

Targets (issue: actor kernel): ask/reply at least 0.5x the bare
`trio.open_memory_channel` pair's round-trip rate; 10,000 idle actors under
50 MB. Both sides run in the same process, one after the other, same loop.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import trio

from abstractcore_actors import ActorContext, Behaviour, open_runtime

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


async def idle_actors(n: int) -> tuple[float, float]:
    async with open_runtime() as rt:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        for _ in range(n):
            await rt.spawn(Echo, mailbox_size=16)
        spawn_s = time.perf_counter() - start
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
    used, spawn_s = await idle_actors(IDLE_ACTORS)
    print(f"kernel: {IDLE_ACTORS:,} idle actors")
    print(f"  memory              {used / 1e6:12.1f} MB  (target < 50 MB)  {_ok(used < 50e6)}")
    print(f"  per actor           {used / IDLE_ACTORS / 1e3:12.2f} kB")
    print(f"  spawn time          {spawn_s * 1e6 / IDLE_ACTORS:12.1f} us per actor")


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


if __name__ == "__main__":
    trio.run(main)
