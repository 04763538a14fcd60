"""`receive_nowait` on a stream's reader: taking every reply already waiting
without an await, mixed with awaited steps, under any schedule hypothesis picks.

- every reply arrives once and in order, whatever mix of drains and awaits;
- the producer's error still comes at the end (never from a drain);
- cancelling the reader at any point leaves no task and stops the producer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abstractcore_actors import ActorContext, ActorCrashed, Behaviour, open_runtime
from tests.leaks import our_tasks

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Producer(Behaviour):
    """Streams range(n), pausing where `pauses` says; raises at the end if `fail`."""

    def __init__(self, pauses: list[bool], fail: bool) -> None:
        self.pauses = pauses
        self.fail = fail

    async def stream(self, message: object, ctx: ActorContext) -> AsyncIterator[Any]:
        assert isinstance(message, int)
        for i in range(message):
            if self.pauses and self.pauses[i % len(self.pauses)]:
                await trio.lowlevel.checkpoint()
            yield i
        if self.fail:
            raise ValueError("producer failed")


def run(fn: Callable[[], Any]) -> Any:
    return trio.run(fn, clock=trio.testing.MockClock(autojump_threshold=0))


def drain(items: Any) -> list[Any]:
    take = items.receive_nowait
    got = []
    while True:
        try:
            got.append(take())
        except trio.WouldBlock:
            return got


@SETTINGS
@given(
    n=st.integers(min_value=0, max_value=40),
    buffer=st.integers(min_value=0, max_value=10),
    pauses=st.lists(st.booleans(), max_size=6),
    # per step of the reader: drain first?, then yield to the producer?
    steps=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=8),
    fail=st.booleans(),
)
def test_drains_and_awaits_see_every_reply_once_in_order(
    n: int, buffer: int, pauses: list[bool], steps: list[tuple[bool, bool]], fail: bool
) -> None:
    async def main() -> None:
        got: list[Any] = []
        error: BaseException | None = None
        async with open_runtime() as rt:
            ref = await rt.spawn(lambda: Producer(pauses, fail), name="producer")
            async with ref.stream(n, buffer=buffer) as items:
                step = 0
                try:
                    while True:
                        do_drain, pause = steps[step % len(steps)]
                        step += 1
                        if do_drain:
                            got.extend(drain(items))
                        if pause:
                            await trio.lowlevel.checkpoint()
                        try:
                            got.append(await items.__anext__())
                        except StopAsyncIteration:
                            break
                        got.extend(drain(items))
                except ActorCrashed as exc:
                    error = exc
                # after the end, a drain still says "nothing waiting", never the end
                with pytest.raises(trio.WouldBlock):
                    items.receive_nowait()  # type: ignore[attr-defined]
        assert got == list(range(n))
        assert (error is not None) == fail
        assert our_tasks() == []

    run(main)


@SETTINGS
@given(
    n=st.integers(min_value=1, max_value=40),
    buffer=st.integers(min_value=0, max_value=10),
    pauses=st.lists(st.booleans(), max_size=6),
    cut_after=st.integers(min_value=0, max_value=40),
    cut_in_drain=st.booleans(),
)
def test_cancelling_the_reader_at_any_point_stops_the_producer(
    n: int, buffer: int, pauses: list[bool], cut_after: int, cut_in_drain: bool
) -> None:
    async def main() -> None:
        got: list[Any] = []
        async with open_runtime() as rt:
            ref = await rt.spawn(lambda: Producer(pauses, fail=False), name="producer")
            with trio.CancelScope() as scope:
                async with ref.stream(n, buffer=buffer) as items:
                    async for item in items:
                        got.append(item)
                        for more in drain(items):
                            got.append(more)
                            if cut_in_drain and len(got) >= cut_after:
                                scope.cancel()
                                break
                        if len(got) >= cut_after:
                            scope.cancel()
                        await trio.lowlevel.checkpoint()
            # the reader is gone: the actor took its next call, so it is free again
            async with ref.stream(2) as again:
                assert [x async for x in again] == [0, 1]
        assert got == list(range(len(got)))  # a prefix, in order, nothing twice
        assert len(got) >= min(n, cut_after)
        assert our_tasks() == []

    run(main)


async def test_a_drain_takes_every_reply_already_buffered(autojump_clock: Any) -> None:
    async with open_runtime() as rt:
        ref = await rt.spawn(lambda: Producer([], fail=False), name="producer")
        async with ref.stream(5, buffer=10) as items:
            assert await items.__anext__() == 0
            await trio.sleep(0.01)  # the producer runs and fills the buffer
            assert drain(items) == [1, 2, 3, 4]
            assert drain(items) == []  # the end is not a reply
            with pytest.raises(StopAsyncIteration):
                await items.__anext__()
    assert our_tasks() == []
