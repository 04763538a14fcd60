"""Property tests of the kernel's protocols, with hypothesis choosing the schedule.

- messages between actors arrive in order and none is lost;
- cancelling at any moment leaves no task and no open channel, and no asker hangs;
- supervisor strategies restart exactly the children a model predicts, and the
  intensity limit escalates exactly when the model says;
- with actors hibernating and waking in between (small `hibernate_after`, mock
  clock), all of the above still holds, each actor runs at most one loop at a
  time, and `started` / `stopped` run once per incarnation.
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

from .conftest import actor_tasks

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# None: never; 0: as soon as the sweeper finds it idle; else after that many seconds.
hibernate_after = st.sampled_from([None, 0.0, 0.05, 0.5])


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
    idle=hibernate_after,
    gaps=st.lists(st.floats(min_value=0, max_value=0.2), max_size=5),
)
def test_messages_arrive_in_order_and_none_is_lost(
    senders: list[list[int]],
    mailbox: int,
    pauses: list[bool],
    idle: float | None,
    gaps: list[float],
) -> None:
    log: list[object] = []

    async def main() -> None:
        async with open_runtime() as rt:
            sink = await rt.spawn(lambda: Sink(log), mailbox_size=mailbox, hibernate_after=idle)
            forwarders = [
                await rt.spawn(
                    lambda: Forwarder(sink, pauses), mailbox_size=mailbox, hibernate_after=idle
                )
                for _ in senders
            ]

            async def send_all(index: int, items: list[int]) -> None:
                for item in items:
                    if gaps:  # pauses in which the actors may hibernate
                        await trio.sleep(gaps[item % len(gaps)])
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
    st.sampled_from(["ask", "stream", "tell", "stop"]),
    st.integers(min_value=0, max_value=2),  # which actor
    st.floats(min_value=0, max_value=3),  # how long the work takes
    st.floats(min_value=0, max_value=3),  # when the job is sent
)


@SETTINGS
@given(
    jobs=st.lists(job, max_size=12),
    cancel_at=st.floats(min_value=0, max_value=8),
    concurrency=st.sampled_from([1, 2, None]),
    idle=hibernate_after,
)
def test_cancelling_at_any_moment_leaves_nothing_running(
    jobs: list[tuple[str, int, float, float]],
    cancel_at: float,
    concurrency: int | None,
    idle: float | None,
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
            elif kind == "stop":
                await ref.stop()
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
                        refs.append(
                            await rt.spawn(Busy, concurrency=concurrency, hibernate_after=idle)
                        )
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
    idle=hibernate_after,
)
def test_supervisor_restarts_match_the_model(
    strategy: Strategy,
    children: int,
    data: st.DataObject,
    max_restarts: int,
    idle: float | None,
) -> None:
    crashes = data.draw(st.lists(st.integers(min_value=0, max_value=children - 1), max_size=8))
    # Time between crashes, in which the siblings may hibernate.
    gap = data.draw(st.sampled_from([0.0, 0.03, 1.0]))
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
                    refs = [await sup.spawn(Crashy, hibernate_after=idle) for _ in range(children)]
                    for index in crashes:
                        await trio.sleep(gap)
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


class Tally(Behaviour):
    """Logs what it handles; records any moment its actor runs more than one loop."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def started(self, ctx: ActorContext) -> None:
        self.world.starts[ctx.name] += 1

    async def stopped(self, ctx: ActorContext) -> None:
        self.world.stops[ctx.name] += 1

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        self.world.check_one_loop(ctx.ref)
        assert isinstance(message, tuple)
        await trio.sleep(message[2])
        self.world.check_one_loop(ctx.ref)
        self.world.handled[ctx.name].append(message[:2])
        return message[:2]

    async def stream(self, message: object, ctx: ActorContext) -> Any:
        yield await self.receive(message, ctx)


class World:
    """What the actors did, as the property test observes it."""

    def __init__(self, names: list[str]) -> None:
        self.starts = dict.fromkeys(names, 0)
        self.stops = dict.fromkeys(names, 0)
        self.handled: dict[str, list[tuple[int, int]]] = {n: [] for n in names}
        self.loops_seen: list[int] = []

    def check_one_loop(self, ref: ActorRef) -> None:
        self.loops_seen.append(len(actor_tasks(ref)))


op = st.tuples(
    st.sampled_from(["tell", "tell_nowait", "ask", "ask_cancelled", "stream", "stop"]),
    st.floats(min_value=0, max_value=1),  # pause before it
    st.floats(min_value=0, max_value=0.3),  # how long the handler works
)


@SETTINGS
@given(
    clients=st.lists(
        st.tuples(st.integers(min_value=0, max_value=2), st.lists(op, max_size=8)),
        min_size=1,
        max_size=5,
    ),
    idle=st.sampled_from([0.0, 0.05, 0.3]),
    mailbox=st.integers(min_value=0, max_value=4),
    concurrency=st.sampled_from([1, 2, None]),
)
def test_hibernation_keeps_order_loses_nothing_and_answers_every_ask(
    clients: list[tuple[int, list[tuple[str, float, float]]]],
    idle: float,
    mailbox: int,
    concurrency: int | None,
) -> None:
    names = ["a0", "a1", "a2"]
    world = World(names)
    # Per client: the messages the kernel accepted (must be handled), in send order.
    accepted: list[list[tuple[int, int]]] = [[] for _ in clients]
    abandoned: set[tuple[int, int]] = set()  # cancelled asks: handled or not, both fine
    unanswered: list[object] = []

    async def client(number: int, ref: ActorRef, ops: list[tuple[str, float, float]]) -> None:
        for seq, (kind, pause, work) in enumerate(ops):
            await trio.sleep(pause)
            message = (number, seq, work)
            try:
                if kind == "tell":
                    await ref.tell(message)
                elif kind == "tell_nowait":
                    try:
                        ref.tell_nowait(message)
                    except trio.WouldBlock:
                        continue  # not accepted: nothing to check
                elif kind == "ask":
                    assert await ref.ask(message) == (number, seq)
                elif kind == "ask_cancelled":
                    abandoned.add((number, seq))
                    with trio.move_on_after(work / 2):
                        await ref.ask(message)
                    continue
                elif kind == "stream":
                    async with ref.stream(message) as items:
                        assert [item async for item in items] == [(number, seq)]
                else:
                    await ref.stop()
                    continue
            except MailboxClosed:
                continue  # the actor had stopped: refused, not lost
            except BaseException as exc:
                if not isinstance(exc, trio.Cancelled):
                    unanswered.append(exc)
                raise
            accepted[number].append((number, seq))

    async def main() -> None:
        with trio.fail_after(1000):  # nothing may hang
            async with open_runtime() as rt:
                refs = [
                    await rt.spawn(
                        lambda: Tally(world),
                        name=name,
                        mailbox_size=mailbox,
                        concurrency=concurrency,
                        hibernate_after=idle,
                    )
                    for name in names
                ]
                async with trio.open_nursery() as nursery:
                    for number, (index, ops) in enumerate(clients):
                        nursery.start_soon(client, number, refs[index], ops)
                await trio.sleep(5)  # every accepted message handled; all hibernate
                for ref in refs:
                    assert not ref.alive or ref.hibernating
                    assert actor_tasks(ref) == [] or not ref.alive
            assert our_tasks() == []
            assert all(not ref.alive and channels_closed(ref) for ref in refs)

    run(main)
    assert unanswered == []
    assert world.loops_seen == [1] * len(world.loops_seen)  # never two loops at once
    # Hibernation is not a restart: one incarnation each, `stopped` once at the end.
    assert world.starts == dict.fromkeys(names, 1)
    assert world.stops == dict.fromkeys(names, 1)
    for number, (index, _ops) in enumerate(clients):
        got = [m for m in world.handled[names[index]] if m[0] == number and m not in abandoned]
        if concurrency == 1:
            assert got == accepted[number]  # in order, nothing lost, nothing doubled
        else:
            assert sorted(got) == accepted[number]  # concurrent: nothing lost or doubled
