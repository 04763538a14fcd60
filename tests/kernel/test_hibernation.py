"""Hibernation: an idle actor gives up its task, keeps its behaviour, and wakes on a message."""

from __future__ import annotations

import contextvars
from typing import Any

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    ActorContext,
    ActorCrashed,
    Behaviour,
    MailboxClosed,
    Runtime,
    ValidationError,
    open_runtime,
)
from tests.leaks import our_tasks

from .conftest import actor_tasks


class Counter(Behaviour):
    """Counts messages; records its lifecycle in `log`."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.count = 0

    async def started(self, ctx: ActorContext) -> None:
        self.log.append(f"started {ctx.restarts}")

    async def stopped(self, ctx: ActorContext) -> None:
        self.log.append(f"stopped {self.count}")

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        if message == "crash":
            raise RuntimeError("crash")
        self.count += 1
        return self.count

    async def stream(self, message: object, ctx: ActorContext) -> Any:
        self.count += 1
        yield self.count


async def test_idle_actor_hibernates_then_wakes_with_its_state(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    log: list[str] = []
    ref = await rt.spawn(lambda: Counter(log), hibernate_after=1)
    assert await ref.ask("x") == 1
    await trio.sleep(0.9)
    assert not ref.hibernating
    assert len(actor_tasks(ref)) == 1
    # Idle for `hibernate_after` (and at most twice that): no task, no nursery left.
    await trio.sleep(1.2)
    assert ref.hibernating
    assert actor_tasks(ref) == []
    assert ref._cell.nursery is None
    # The next message wakes it, with the same behaviour object: the count goes on.
    assert await ref.ask("x") == 2
    assert not ref.hibernating
    assert len(actor_tasks(ref)) == 1
    assert log == ["started 0"]  # hibernating and waking are not restarts
    assert ref.restarts == 0
    await ref.stop()
    assert log == ["started 0", "stopped 2"]


@pytest.mark.parametrize("how", ["tell", "tell_nowait", "ask", "stream"])
async def test_every_way_of_sending_wakes_a_hibernating_actor(
    rt: Runtime, clock: trio.testing.MockClock, how: str
) -> None:
    log: list[str] = []
    ref = await rt.spawn(lambda: Counter(log), hibernate_after=0.5)
    await trio.sleep(2)
    assert ref.hibernating
    if how == "tell":
        await ref.tell("x")
    elif how == "tell_nowait":
        ref.tell_nowait("x")
    elif how == "ask":
        assert await ref.ask("x") == 1
    else:
        async with ref.stream("x") as items:
            assert [i async for i in items] == [1]
    assert await ref.ask("x") == 2
    assert log == ["started 0"]


async def test_rendezvous_mailbox_wakes_the_actor_for_a_waiting_sender(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    log: list[str] = []
    ref = await rt.spawn(lambda: Counter(log), mailbox_size=0, hibernate_after=0.5)
    await trio.sleep(2)
    assert ref.hibernating
    await ref.tell("x")  # waits until the woken loop takes it
    assert await ref.ask("x") == 2


async def test_hibernate_after_none_never_hibernates(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    ref = await rt.spawn(lambda: Counter([]), hibernate_after=None)
    await trio.sleep(1000)
    assert not ref.hibernating
    assert len(actor_tasks(ref)) == 1


async def test_hibernate_after_zero_hibernates_at_once_when_idle(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    ref = await rt.spawn(lambda: Counter([]), hibernate_after=0)
    await trio.sleep(0.1)
    assert ref.hibernating
    for n in range(1, 4):
        assert await ref.ask("x") == n
        await trio.sleep(0.1)
        assert ref.hibernating


@pytest.mark.parametrize("concurrency", [1, 3, None])
async def test_no_hibernation_while_a_handler_runs(
    rt: Runtime, clock: trio.testing.MockClock, concurrency: int | None
) -> None:
    class Slow(Behaviour):
        async def receive(self, message: object, ctx: ActorContext) -> Any:
            assert isinstance(message, int)
            await trio.sleep(message)
            return message

    ref = await rt.spawn(Slow, hibernate_after=1, concurrency=concurrency)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ref.ask, 10)
        await trio.sleep(9)
        assert not ref.hibernating  # busy for 10 s, idle never
    # Finished at t=10; idle from then on, so asleep within 2 s after.
    await trio.sleep(0.5)
    assert not ref.hibernating
    await trio.sleep(2)
    assert ref.hibernating
    assert await ref.ask(0) == 0


async def test_no_hibernation_while_background_work_runs(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    done: list[bool] = []

    class Background(Behaviour):
        async def receive(self, message: object, ctx: ActorContext) -> Any:
            ctx.start_soon(self.work)

        async def work(self) -> None:
            await trio.sleep(10)
            done.append(True)

    ref = await rt.spawn(Background, hibernate_after=1)
    await ref.tell("go")
    await trio.sleep(9)
    assert not ref.hibernating
    await trio.sleep(4)
    assert done == [True]  # the work was not cut short by hibernation
    assert ref.hibernating


async def test_stashed_context_cannot_start_work_while_hibernating(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    contexts: list[ActorContext] = []

    class Stasher(Behaviour):
        async def receive(self, message: object, ctx: ActorContext) -> Any:
            contexts.append(ctx)

    ref = await rt.spawn(Stasher, hibernate_after=0.5)
    await ref.ask("x")
    await trio.sleep(2)
    assert ref.hibernating
    with pytest.raises(RuntimeError, match="hibernating or stopped"):
        contexts[0].start_soon(trio.sleep, 1)
    await ref.ask("y")
    assert contexts[0] is contexts[1]  # one context for the whole incarnation


async def test_a_crash_after_waking_restarts_with_a_fresh_behaviour(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    log: list[str] = []
    ref = await rt.spawn(lambda: Counter(log), hibernate_after=0.5)
    assert await ref.ask("x") == 1
    await trio.sleep(2)
    assert ref.hibernating
    with pytest.raises(ActorCrashed):
        await ref.ask("crash")
    assert await ref.ask("x") == 1  # a restart: new behaviour, count from zero
    assert log == ["started 0", "stopped 1", "started 1"]


@pytest.mark.parametrize(
    ("strategy", "restarted"),
    [("one_for_one", "b"), ("one_for_all", "abc"), ("rest_for_one", "bc")],
)
async def test_strategies_restart_hibernating_siblings(
    rt: Runtime, clock: trio.testing.MockClock, strategy: str, restarted: str
) -> None:
    logs: dict[str, list[str]] = {n: [] for n in "abc"}
    async with rt.supervise(strategy=strategy) as sup:
        refs = {
            n: await sup.spawn(lambda n=n: Counter(logs[n]), name=n, hibernate_after=0.5)
            for n in "abc"
        }
        for ref in refs.values():
            await ref.ask("x")
        await trio.sleep(2)
        assert all(ref.hibernating for ref in refs.values())
        with pytest.raises(ActorCrashed):
            await refs["b"].ask("crash")
        await trio.testing.wait_all_tasks_blocked()
        for n, ref in refs.items():
            if n in restarted:
                # Its `stopped` ran (hibernating or not), then a fresh start.
                assert logs[n] == ["started 0", "stopped 1", "started 1"], n
                assert await ref.ask("x") == 1
            else:
                assert logs[n] == ["started 0"], n
                assert await ref.ask("x") == 2  # untouched: the same behaviour
            assert ref.restarts == (1 if n in restarted else 0)


async def test_stopping_a_hibernating_actor_runs_stopped_once_and_frees_its_name(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    log: list[str] = []
    async with rt.supervise() as sup:
        ref = await sup.spawn(lambda: Counter(log), name="sleepy", hibernate_after=0.5)
        await ref.ask("x")
        await trio.sleep(2)
        assert ref.hibernating
        await sup.stop_child(ref)
        assert log == ["started 0", "stopped 1"]
        assert not ref.alive
        assert not ref.hibernating
        assert "sleepy" not in rt.names()
        assert sup.children == []
        with pytest.raises(MailboxClosed):
            await ref.tell("x")


async def test_closing_the_runtime_runs_stopped_of_hibernating_actors(
    clock: trio.testing.MockClock,
) -> None:
    logs: list[list[str]] = [[] for _ in range(5)]
    async with open_runtime() as rt:
        refs = [await rt.spawn(lambda log=log: Counter(log), hibernate_after=0.5) for log in logs]
        await refs[0].ask("x")
        await trio.sleep(2)
        assert all(ref.hibernating for ref in refs)
        assert all(actor_tasks(ref) == [] for ref in refs)
    assert our_tasks() == []
    assert rt.names() == []
    assert logs[0] == ["started 0", "stopped 1"]
    assert all(log == ["started 0", "stopped 0"] for log in logs[1:])


async def test_closing_ends_hibernating_actors_without_a_stopped_hook_taskless(
    clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Plain(Behaviour):  # no `stopped`: nothing to wake for at shutdown
        async def receive(self, message: object, ctx: ActorContext) -> Any:
            return message

    woken: list[object] = []
    async with open_runtime() as rt:
        refs = [await rt.spawn(Plain, hibernate_after=0.5) for _ in range(3)]
        await trio.sleep(2)
        assert all(ref.hibernating for ref in refs)
        monkeypatch.setattr(rt.actors.root, "resume", woken.append)
    assert woken == []  # ended where they lay, not woken
    assert our_tasks() == []
    assert rt.names() == []
    assert all(not ref.alive and not ref.hibernating for ref in refs)
    with pytest.raises(MailboxClosed):
        await refs[0].ask(1)


async def test_a_message_sent_while_the_actor_settles_is_handled(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    # White-box: order the hibernation by hand, then send before the actor's
    # task has run again: it must stay awake for the message, not strand it.
    log: list[str] = []
    ref = await rt.spawn(lambda: Counter(log), hibernate_after=None)
    await trio.testing.wait_all_tasks_blocked()
    cell = ref._cell
    assert cell.idle()
    cell.order_hibernation()
    ref.tell_nowait("x")  # the loop's receive was cancelled: this one queues
    assert not ref.hibernating  # the sender saw an awake actor, woke nothing
    await trio.testing.wait_all_tasks_blocked()
    assert not ref.hibernating
    assert await ref.ask("x") == 2
    assert log == ["started 0"]


async def test_a_stop_order_while_the_actor_settles_ends_its_incarnation(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    log: list[str] = []
    async with rt.supervise(strategy="one_for_all") as sup:
        a = await sup.spawn(lambda: Counter(log), name="a", hibernate_after=None)
        b = await sup.spawn(lambda: Counter([]), name="b", hibernate_after=None)
        await trio.testing.wait_all_tasks_blocked()
        a._cell.order_hibernation()
        # b crashes: a, caught mid-settling, must be stopped and restarted.
        with pytest.raises(ActorCrashed):
            await b.ask("crash")
        await trio.testing.wait_all_tasks_blocked()
        assert log == ["started 0", "stopped 0", "started 1"]
        assert not a.hibernating
        assert await a.ask("x") == 1


async def test_leaving_the_block_while_an_actor_settles_still_runs_stopped(
    clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    async with open_runtime() as rt:
        ref = await rt.spawn(lambda: Counter(log), hibernate_after=None)
        await trio.testing.wait_all_tasks_blocked()
        ref._cell.order_hibernation()
    assert log == ["started 0", "stopped 0"]
    assert our_tasks() == []


_request = contextvars.ContextVar[str]("request", default="none")


async def test_context_variables_belong_to_the_actor_not_the_waker(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    class Remembers(Behaviour):
        async def receive(self, message: object, ctx: ActorContext) -> Any:
            seen = _request.get()
            if isinstance(message, str):
                _request.set(message)  # the actor's own task context
            return seen

    ref = await rt.spawn(Remembers, hibernate_after=0.5)
    assert await ref.ask("mine") == "none"
    await trio.sleep(2)
    assert ref.hibernating
    _request.set("the waker's")
    # The woken actor goes on in its own context: what it set, not what we set.
    assert await ref.ask(None) == "mine"


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan"), "1", True])
async def test_spawn_rejects_a_bad_hibernate_after(rt: Runtime, bad: Any) -> None:
    with pytest.raises(ValidationError, match="hibernate_after"):
        await rt.spawn(Counter, hibernate_after=bad)
    assert rt.names() == []
