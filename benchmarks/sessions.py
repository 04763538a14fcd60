"""Sessions and events: 10,000 idle sessions in memory; a slow event subscriber
next to a fast one must not slow generation down. Each figure is printed next
to its target; both sides of the ratio run in this process, interleaved.

Targets (issue: sessions, tools, events):
- 10,000 concurrent idle sessions (each a session actor and a tool registry
  actor, with a system prompt and one tool): under 100 MB in all;
- a 2,000-chunk stream with a fast and a slow (lossy) subscriber, against
  the same stream with the fast one only: chunks/s ratio >= 0.95, the slow
  subscriber dropping events rather than stalling the stream.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from contextlib import AsyncExitStack

import attrs
import trio
import trio.testing

from abstractcore_actors import LLM, Runtime, open_runtime
from abstractcore_actors.events import Subscription
from abstractcore_actors.sessions import Session
from abstractcore_actors.testing import Reply, open_fake_openai_server
from abstractcore_actors.tools import tool

SESSIONS = 10_000
CHUNKS = 2_000
REPEATS = 15
# The slow subscriber's time per event: 10 ms, 100 events/s against a stream
# of thousands per second. (Its own wake-ups share the one trio thread: at
# 1 ms per event they cost a few percent of CPU that is not the bus's doing.)
SLOW_DELAY = 0.01


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


@tool
async def lookup(term: str) -> str:
    """Look a term up in the glossary.

    Args:
        term: the word to look up.
    """
    return f"{term}: see the glossary"


async def _settle(rt: Runtime, sessions: list[Session]) -> None:
    """Until every actor has started and gone idle (waiting on its mailbox)."""
    # Any idle process would do, but this one is exact: every task blocked.
    await trio.testing.wait_all_tasks_blocked(cushion=0.05)
    # And a round trip to one session's registry, to prove they answer.
    assert (await sessions[-1].tools()).names == ("lookup",)
    await trio.testing.wait_all_tasks_blocked(cushion=0.05)


async def _open_sessions(rt: Runtime, llm: LLM, n: int) -> list[Session]:
    return [
        rt.session(llm, system_prompt=f"You are assistant number {i}.", tools=[lookup])
        for i in range(n)
    ]


async def idle_sessions(n: int, *, traced: bool) -> tuple[float, float, float, int]:
    """(bytes used, creation seconds, seconds to settle, actors) for `n` idle sessions."""
    async with open_fake_openai_server() as server, open_runtime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "fake-model", base_url=server.base_url)
        await trio.testing.wait_all_tasks_blocked(cushion=0.05)
        before = len(rt.names())
        if traced:
            tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0] if traced else 0
        start = time.perf_counter()
        sessions = await _open_sessions(rt, llm, n)
        created = time.perf_counter() - start
        await _settle(rt, sessions)
        settled = time.perf_counter() - start - created
        used = tracemalloc.get_traced_memory()[0] - base if traced else 0
        if traced:
            tracemalloc.stop()
        actors = len(rt.names()) - before
        return used, created, settled, actors


async def _drain(sub: Subscription, seen: list[int], delay: float) -> None:
    async for _event in sub:
        seen[0] += 1
        if delay:
            await trio.sleep(delay)


async def one_stream(rt: Runtime, llm: LLM, *, slow: bool) -> tuple[float, float, int, int]:
    """Stream one answer of CHUNKS chunks.

    Returns (chunks/s wall, CPU µs per chunk, chunks read, events the slow one dropped).
    """
    fast_seen, slow_seen = [0], [0]
    laggard: Subscription | None = None
    async with AsyncExitStack() as stack:
        fast = await stack.enter_async_context(rt.events.subscribe("*"))
        if slow:
            laggard = await stack.enter_async_context(rt.events.subscribe("*"))
        nursery = await stack.enter_async_context(trio.open_nursery())
        nursery.start_soon(_drain, fast, fast_seen, 0.0)
        if laggard is not None:
            nursery.start_soon(_drain, laggard, slow_seen, SLOW_DELAY)
        read = 0
        start, cpu = time.perf_counter(), time.process_time()
        async with llm.stream("Count to a lot.") as stream:
            async for _chunk in stream:
                read += 1
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        nursery.cancel_scope.cancel()
    dropped = laggard.dropped if laggard is not None else 0
    return read / elapsed, cpu / read * 1e6, read, dropped


@attrs.define
class _Side:
    rates: list[float] = attrs.field(factory=list)
    cpu: list[float] = attrs.field(factory=list)
    drops: list[int] = attrs.field(factory=list)


async def event_throughput() -> tuple[_Side, _Side, int]:
    reply = Reply(chunks=["x"] * CHUNKS, token_latency=0)
    async with (
        open_fake_openai_server(default=reply) as server,
        open_runtime(env={}) as rt,
    ):
        llm = rt.create_llm("openai-compatible", "fake-model", base_url=server.base_url)
        await one_stream(rt, llm, slow=False)  # warm up: connection, imports
        alone, with_slow = _Side(), _Side()
        read = 0
        for _ in range(REPEATS):
            for side, slow in ((alone, False), (with_slow, True)):
                rate, cpu, read, dropped = await one_stream(rt, llm, slow=slow)
                side.rates.append(rate)
                side.cpu.append(cpu)
                side.drops.append(dropped)
        return alone, with_slow, read


async def main() -> None:
    _, created, settled, actors = await idle_sessions(SESSIONS, traced=False)
    used, _, _, _ = await idle_sessions(SESSIONS, traced=True)
    print(f"sessions: {SESSIONS:,} concurrent idle sessions ({actors:,} actors), one tool each")
    print(f"  memory              {used / 1e6:10.1f} MB  (target < 100 MB)  {_ok(used < 100e6)}")
    print(f"  per session         {used / SESSIONS / 1e3:10.2f} kB")
    print(f"  creation time       {created * 1e6 / SESSIONS:10.1f} us per session (rt.session)")
    print(f"  until all idle      {settled:10.2f} s for all of them (actors starting)")

    alone, with_slow, read = await event_throughput()
    fast, both = statistics.median(alone.rates), statistics.median(with_slow.rates)
    ratio = both / fast
    drops = with_slow.drops
    print(
        f"events: a {read:,}-chunk stream read to its end, with a fast subscriber, "
        f"then a fast and a slow one"
    )
    print(
        f"  (slow: {SLOW_DELAY * 1e3:g} ms per event, lossy default buffer; "
        f"median of {REPEATS}, interleaved)"
    )
    print(
        f"  fast only           {fast:10,.0f} chunks/s  "
        f"{statistics.median(alone.cpu):6.1f} us CPU per chunk"
    )
    print(
        f"  fast + slow         {both:10,.0f} chunks/s  "
        f"{statistics.median(with_slow.cpu):6.1f} us CPU per chunk"
    )
    print(f"  ratio               {ratio:10.3f}   (target >= 0.95)  {_ok(ratio >= 0.95)}")
    print(
        f"  slow one dropped    {statistics.median(drops):10,.0f} events per stream "
        f"(min {min(drops):,}, max {max(drops):,}): it dropped, the stream did not wait"
    )


if __name__ == "__main__":
    t0 = time.perf_counter()
    trio.run(main)
    print(f"(sessions benchmark took {time.perf_counter() - t0:.1f}s)")
