"""tell / ask / stream, the registry, and a stopped actor's mailbox."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    ActorContext,
    ActorNotFound,
    Behaviour,
    MailboxClosed,
    NameTaken,
    Runtime,
)

from .conftest import Echo


class Recorder(Behaviour):
    def __init__(self, log: list[object]) -> None:
        self.log = log

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        self.log.append(message)
        return len(self.log)


async def test_ask_returns_the_reply(rt: Runtime) -> None:
    echo = await rt.spawn(Echo, name="echo")
    assert await echo.ask("hi") == "hi"
    assert await echo.ask(42, timeout=1) == 42


async def test_tell_is_handled_in_order(rt: Runtime) -> None:
    log: list[object] = []
    ref = await rt.spawn(lambda: Recorder(log), name="rec")
    for i in range(10):
        await ref.tell(i)
    assert await ref.ask("last") == 11
    assert log == [*range(10), "last"]


async def test_stream_yields_every_item_then_ends(rt: Runtime) -> None:
    echo = await rt.spawn(Echo)
    async with echo.stream(5) as items:
        assert [i async for i in items] == [0, 1, 2, 3, 4]


async def test_stream_error_is_raised_at_the_consumer(rt: Runtime) -> None:
    class Failing(Behaviour):
        reply_errors = (KeyError,)

        async def stream(self, message: object, ctx: ActorContext) -> Any:
            yield 1
            raise KeyError("gone")

    ref = await rt.spawn(Failing)
    got: list[int] = []
    with pytest.raises(KeyError):
        async with ref.stream(None) as items:
            async for item in items:
                got.append(item)
    assert got == [1]
    assert ref.alive  # a reply error does not crash the actor


async def test_stream_has_backpressure(rt: Runtime, clock: trio.testing.MockClock) -> None:
    produced: list[int] = []

    class Producer(Behaviour):
        async def stream(self, message: object, ctx: ActorContext) -> Any:
            for i in range(100):
                produced.append(i)
                yield i

    ref = await rt.spawn(Producer)
    async with ref.stream(None, buffer=2) as items:
        first = await items.__anext__()
        await trio.sleep(1)  # let the producer run as far as it can
        # one item taken, two buffered, one blocked in send: never the whole stream
        assert first == 0
        assert len(produced) <= 4


async def test_lookup_by_name_and_name_is_freed_on_stop(rt: Runtime) -> None:
    ref = await rt.spawn(Echo, name="svc")
    assert rt.lookup("svc") is ref
    assert rt.names() == ["svc"]
    with pytest.raises(NameTaken, match="already running"):
        await rt.spawn(Echo, name="svc")
    await ref.stop()
    assert not ref.alive
    with pytest.raises(ActorNotFound, match="no running actor is named 'svc'"):
        rt.lookup("svc")
    again = await rt.spawn(Echo, name="svc")
    assert await again.ask(1) == 1


async def test_stop_drains_the_mailbox_first(rt: Runtime) -> None:
    log: list[object] = []
    ref = await rt.spawn(lambda: Recorder(log), mailbox_size=10)
    for i in range(5):
        ref.tell_nowait(i)
    await ref.stop()
    assert log == [0, 1, 2, 3, 4]


async def test_sending_to_a_stopped_actor_raises_mailbox_closed(rt: Runtime) -> None:
    ref = await rt.spawn(Echo, name="gone")
    await ref.stop()
    with pytest.raises(MailboxClosed, match="'gone' has stopped"):
        await ref.tell(1)
    with pytest.raises(MailboxClosed):
        ref.tell_nowait(1)
    with pytest.raises(MailboxClosed):
        await ref.ask(1)
    with pytest.raises(MailboxClosed):
        async with ref.stream(3):
            pass


async def test_tell_nowait_raises_would_block_when_full(rt: Runtime) -> None:
    class Stuck(Behaviour):
        async def receive(self, message: object, ctx: ActorContext) -> Any:
            await trio.sleep_forever()

    ref = await rt.spawn(Stuck, mailbox_size=1)
    ref.tell_nowait("occupies the handler")
    await trio.testing.wait_all_tasks_blocked()
    ref.tell_nowait("fills the mailbox")
    with pytest.raises(trio.WouldBlock):
        ref.tell_nowait("no room")


async def test_concurrent_actor_handles_messages_at_once(
    rt: Runtime, clock: trio.testing.MockClock
) -> None:
    class Slow(Behaviour):
        async def receive(self, message: object, ctx: ActorContext) -> Any:
            await trio.sleep(1)
            return message

    ref = await rt.spawn(Slow, concurrency=10)
    start = trio.current_time()
    results: list[object] = []
    async with trio.open_nursery() as nursery:
        for i in range(10):
            nursery.start_soon(lambda i=i: _append(results, ref.ask(i)))
    assert sorted(results) == list(range(10))  # type: ignore[type-var]
    assert trio.current_time() - start == pytest.approx(1.0)


async def _append(results: list[object], awaitable: Any) -> None:
    results.append(await awaitable)


async def test_repr_names_the_actor_and_its_state(rt: Runtime) -> None:
    ref = await rt.spawn(Echo, name="r")
    assert repr(ref) == "<ActorRef 'r' alive>"
    await ref.stop()
    assert repr(ref) == "<ActorRef 'r' stopped>"
