"""Property tests of the kernel's protocols, with hypothesis choosing the schedule.

- messages between actors arrive in order and none is lost;
- cancelling at any moment leaves no task and no open channel, and no asker hangs;
- supervisor strategies restart exactly the children a model predicts, and the
  intensity limit escalates exactly when the model says.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abstractcore_actors import (
    ActorContext,
    ActorCrashed,
    ActorRef,
    Behaviour,
    MailboxClosed,
    Strategy,
    SupervisorGaveUp,
    open_runtime,
)
from tests.leaks import our_tasks

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(fn: Any, *args: Any) -> Any:
    return trio.run(fn, *args, clock=trio.testing.MockClock(autojump_threshold=0))


def channels_closed(ref: ActorRef) -> bool:
    stats = ref._cell.recv.statistics()
    return stats.open_send_channels == 0 and stats.open_receive_channels == 0


class Forwarder(Behaviour):
    def __init__(self, target: ActorRef, pauses: list[bool]) -> None:
        self.target = target
        self.pauses = pauses

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        if self.pauses and self.pauses[hash(message) % len(self.pauses)]:
            await trio.lowlevel.checkpoint()
        await self.target.tell(message)


class Sink(Behaviour):
    def __init__(self, log: list[object]) -> None:
        self.log = log

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        if message == "count?":
            return len(self.log)
        self.log.append(message)
        return None


@SETTINGS
@given(
    senders=st.lists(st.lists(st.integers(), max_size=30), min_size=1, max_size=4),
    mailbox=st.integers(min_value=0, max_value=8),
    pauses=st.lists(st.booleans(), max_size=5),
)
def test_messages_arrive_in_order_and_none_is_lost(
    senders: list[list[int]], mailbox: int, pauses: list[bool]
) -> None:
    log: list[object] = []

    async def main() -> None:
        async with open_runtime() as rt:
            sink = await rt.spawn(lambda: Sink(log), mailbox_size=mailbox)
            forwarders = [
                await rt.spawn(lambda: Forwarder(sink, pauses), mailbox_size=mailbox)
                for _ in senders
            ]

            async def send_all(index: int, items: list[int]) -> None:
                for item in items:
                    await forwarders[index].tell((index, item))
                # a final ask through the same path flushes this sender's messages
                await forwarders[index].ask((index, "end"))

            async with trio.open_nursery() as nursery:
                for i, items in enumerate(senders):
                    nursery.start_soon(send_all, i, items)
            total = sum(len(s) + 1 for s in senders)
            while await sink.ask("count?") < total:
                await trio.lowlevel.checkpoint()

    run(main)
    for i, items in enumerate(senders):
        got = [m[1] for m in log if isinstance(m, tuple) and m[0] == i]
        assert got == [*items, "end"]  # in order, nothing lost, nothing doubled


class Busy(Behaviour):
    async def receive(self, message: object, ctx: ActorContext) -> Any:
        assert isinstance(message, float)
        await trio.sleep(message)
        return message

    async def stream(self, message: object, ctx: ActorContext) -> Any:
        assert isinstance(message, float)
        for i in range(5):
            await trio.sleep(message)
            yield i


job = st.tuples(
    st.sampled_from(["ask", "stream", "tell"]),
    st.integers(min_value=0, max_value=2),  # which actor
    st.floats(min_value=0, max_value=3),  # how long the work takes
    st.floats(min_value=0, max_value=3),  # when the job is sent
)


@SETTINGS
@given(
    jobs=st.lists(job, max_size=12),
    cancel_at=st.floats(min_value=0, max_value=8),
    concurrency=st.sampled_from([1, 2, None]),
)
def test_cancelling_at_any_moment_leaves_nothing_running(
    jobs: list[tuple[str, int, float, float]], cancel_at: float, concurrency: int | None
) -> None:
    outcomes: list[str] = []
    refs: list[ActorRef] = []

    async def client(kind: str, ref: ActorRef, work: float, delay: float) -> None:
        await trio.sleep(delay)
        try:
            if kind == "ask":
                await ref.ask(work)
            elif kind == "tell":
                await ref.tell(work)
            else:
                async with ref.stream(work) as items:
                    async for _ in items:
                        pass
            outcomes.append("ok")
        except (ActorCrashed, MailboxClosed):
            outcomes.append("answered with an error")

    async def main() -> None:
        with trio.fail_after(100):  # nothing may hang
            async with trio.open_nursery() as clients:
                async with open_runtime() as rt:
                    for _ in range(3):
                        refs.append(await rt.spawn(Busy, concurrency=concurrency))
                    for kind, index, work, delay in jobs:
                        clients.start_soon(client, kind, refs[index], work, delay)
                    await trio.sleep(cancel_at)
                # The runtime is gone: no actor task, every mailbox closed.
                assert our_tasks() == []
                assert all(not ref.alive and channels_closed(ref) for ref in refs)
            assert our_tasks() == []

    run(main)
    assert len(outcomes) <= len(jobs)


def expected_restarts(
    strategy: Strategy, children: int, crashes: list[int], max_restarts: int
) -> tuple[list[int], bool]:
    restarts = [0] * children
    for number, index in enumerate(crashes, start=1):
        if number > max_restarts:
            return restarts, True
        if strategy is Strategy.ONE_FOR_ONE:
            group = [index]
        elif strategy is Strategy.ONE_FOR_ALL:
            group = list(range(children))
        else:
            group = list(range(index, children))
        for i in group:
            restarts[i] += 1
    return restarts, False


class Crashy(Behaviour):
    async def receive(self, message: object, ctx: ActorContext) -> Any:
        if message == "crash":
            raise RuntimeError("crash")
        return ctx.restarts


@SETTINGS
@given(
    strategy=st.sampled_from(list(Strategy)),
    children=st.integers(min_value=1, max_value=5),
    data=st.data(),
    max_restarts=st.integers(min_value=0, max_value=6),
)
def test_supervisor_restarts_match_the_model(
    strategy: Strategy, children: int, data: st.DataObject, max_restarts: int
) -> None:
    crashes = data.draw(st.lists(st.integers(min_value=0, max_value=children - 1), max_size=8))
    want, gives_up = expected_restarts(strategy, children, crashes, max_restarts)
    got: list[int] = []
    gave_up = False

    async def main() -> None:
        nonlocal gave_up
        async with open_runtime() as rt:
            try:
                async with rt.supervise(
                    strategy=strategy, max_restarts=max_restarts, within=1000
                ) as sup:
                    refs = [await sup.spawn(Crashy) for _ in range(children)]
                    for index in crashes:
                        with pytest.raises(ActorCrashed):
                            await refs[index].ask("crash")
                        await trio.testing.wait_all_tasks_blocked()
                    got.extend([await ref.ask("restarts?") for ref in refs])
            except SupervisorGaveUp:
                gave_up = True
            assert our_tasks() != []  # the runtime itself still runs
        assert our_tasks() == []

    run(main)
    assert gave_up == gives_up
    if not gives_up:
        assert got == want
