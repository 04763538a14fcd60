"""Supervised actors exchanging messages; one crashes and is restarted.

python examples/kernel_supervision.py
"""

from __future__ import annotations

from typing import Any

import trio

from abstractcore_actors import ActorContext, ActorCrashed, ActorRef, Behaviour, open_runtime


class Counter(Behaviour):
    """Keeps a running total; a negative number crashes it (state resets on restart)."""

    def __init__(self) -> None:
        self.total = 0

    async def started(self, ctx: ActorContext) -> None:
        print(f"  [{ctx.name}] started (restart #{ctx.restarts})")

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        assert isinstance(message, int)
        if message < 0:
            raise ValueError(f"negative amount {message}")
        self.total += message
        return self.total


class Reporter(Behaviour):
    """Forwards numbers to the counter and prints what it says."""

    def __init__(self, counter: ActorRef) -> None:
        self.counter = counter

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        try:
            total = await self.counter.ask(message, timeout=1)
            print(f"  [{ctx.name}] sent {message!r:>4} -> total {total}")
        except ActorCrashed as exc:
            print(f"  [{ctx.name}] sent {message!r:>4} -> counter crashed: {exc.reason}")


async def main() -> None:
    print("kernel demo: supervised actors, one crash, one restart")
    async with open_runtime() as rt, rt.supervise(strategy="one_for_one") as sup:
        counter = await sup.spawn(Counter, name="counter")
        reporter = await sup.spawn(lambda: Reporter(counter), name="reporter")
        for amount in (5, 10, -1, 7):
            await reporter.ask(amount)
        print(f"  counter restarted {counter.restarts} time(s); crashes kept by the supervisor:")
        for crash in sup.crashes:
            print(f"    {crash.actor}: {type(crash.reason).__name__}: {crash.reason}")
    print("runtime closed: every actor cancelled and awaited")


if __name__ == "__main__":
    trio.run(main)
