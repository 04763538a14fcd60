"""The bus on its own: filters, drop-oldest with counts, lossless backpressure,
handlers, end of stream — real actor system, MockClock."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from abstractcore_actors import ValidationError
from abstractcore_actors.events import (
    ErrorOccurred,
    Event,
    EventBus,
    GenerationChunk,
    GenerationStarted,
    ToolStarted,
)
from abstractcore_actors.kernel import open_actor_system
from tests.leaks import our_tasks


async def test_subscriber_gets_matching_events_in_order() -> None:
    async with open_actor_system() as system:
        bus = EventBus(system)
        emitter = bus.emitter("req_1", session_id="s1", provider="p", model="m")
        async with bus.subscribe(GenerationChunk) as chunks, bus.subscribe("*") as everything:
            await emitter.emit(GenerationStarted, stream=True)
            for text in ("a", "b", "c"):
                await emitter.emit(GenerationChunk, text=text)
            got = [chunks.receive_nowait() for _ in range(3)]
            assert [e.text for e in got] == ["a", "b", "c"]  # type: ignore[attr-defined]
            assert [e.seq for e in got] == [2, 3, 4]
            assert all(e.session_id == "s1" and e.provider == "p" for e in got)
            assert [type(everything.receive_nowait()) for _ in range(4)] == [
                GenerationStarted,
                GenerationChunk,
                GenerationChunk,
                GenerationChunk,
            ]
            with pytest.raises(trio.WouldBlock):
                chunks.receive_nowait()


async def test_filters_by_session_request_list_and_predicate() -> None:
    async with open_actor_system() as system:
        bus = EventBus(system)
        a = bus.emitter("req_a", session_id="one")
        b = bus.emitter("req_b", session_id="two")
        async with (
            bus.subscribe(session_id="two") as by_session,
            bus.subscribe(request_id="req_a") as by_request,
            bus.subscribe(["tool.started", GenerationStarted]) as by_list,
            bus.subscribe(lambda e: e.seq == 2) as by_predicate,
        ):
            await a.emit(GenerationStarted)
            await b.emit(GenerationStarted)
            await b.emit(ToolStarted, tool="x")
            await a.emit(GenerationChunk, text="t")
            assert [e.request_id for e in _drain(by_session)] == ["req_b", "req_b"]
            assert [type(e) for e in _drain(by_request)] == [GenerationStarted, GenerationChunk]
            assert len(_drain(by_list)) == 3
            assert [(e.request_id, e.seq) for e in _drain(by_predicate)] == [
                ("req_b", 2),
                ("req_a", 2),
            ]


async def test_unknown_type_name_and_bad_buffer_are_validation_errors() -> None:
    async with open_actor_system() as system:
        bus = EventBus(system)
        with pytest.raises(ValidationError, match="unknown event type 'chunk'"):
            async with bus.subscribe("chunk"):
                pass
        with pytest.raises(ValidationError, match="buffer must be a positive"):
            async with bus.subscribe(buffer=0):
                pass
        with pytest.raises(ValidationError, match="handler must be callable"):
            bus.on("*", "not a function")  # type: ignore[arg-type]


async def test_slow_subscriber_drops_oldest_and_is_told_how_many() -> None:
    async with open_actor_system() as system:
        bus = EventBus(system)
        emitter = bus.emitter("req")
        async with bus.subscribe(buffer=3) as slow:
            for i in range(10):
                emitter.emit_nowait(GenerationChunk, text=str(i))  # never waits
            first, second, third = _drain(slow)
            assert [first.text, second.text, third.text] == ["7", "8", "9"]  # type: ignore[attr-defined]
            assert (first.dropped, second.dropped, third.dropped) == (7, 0, 0)
            assert slow.dropped == 7
            await emitter.emit(GenerationChunk, text="10")
            assert slow.receive_nowait().dropped == 0


async def test_lossless_subscriber_applies_backpressure_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_actor_system() as system:
        bus = EventBus(system)
        emitted: list[int] = []
        async with bus.subscribe(buffer=2, lossless=True) as audit, trio.open_nursery() as nursery:

            async def publish(request: str, n: int) -> None:
                emitter = bus.emitter(request)
                for i in range(n):
                    await emitter.emit(GenerationChunk, text=f"{request}{i}")
                    emitted.append(i)

            nursery.start_soon(publish, "a", 5)
            nursery.start_soon(publish, "b", 5)
            await trio.sleep(1)
            assert len(emitted) <= 3  # two queued, the rest wait for room
            got: list[Event] = []
            while len(got) < 10:
                got.append(await audit.receive())
                await trio.sleep(0.1)
        assert audit.dropped == 0
        for request in "ab":
            seqs = [e.seq for e in got if e.request_id == request]
            assert seqs == [1, 2, 3, 4, 5]


async def test_bus_close_ends_subscriptions_after_the_queued_events() -> None:
    async with open_actor_system() as system:
        bus = EventBus(system)
        async with bus.subscribe() as sub:
            await bus.emitter("r").emit(GenerationStarted)
            bus.close()
            assert [type(e) async for e in sub] == [GenerationStarted]


async def test_handlers_sync_and_async_and_a_raising_one_is_reported(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[str] = []

    def sync_handler(event: Event) -> None:
        seen.append(f"sync:{event.seq}")

    async def async_handler(event: Event) -> None:
        await trio.sleep(0.5)
        seen.append(f"async:{event.seq}")

    def broken(event: Event) -> None:
        raise RuntimeError("handler bug")

    async with open_actor_system() as system:
        bus = EventBus(system)
        bus.on(GenerationStarted, sync_handler)
        bus.on("generation.started", async_handler)
        off = bus.on(GenerationStarted, broken)
        async with bus.subscribe(ErrorOccurred) as errors:
            emitter = bus.emitter("r")
            await emitter.emit(GenerationStarted)  # returns at once: handlers run elsewhere
            assert seen == []
            report = await errors.receive()
            assert report.source == "handler"  # type: ignore[attr-defined]
            assert "broken" in report.message and "handler bug" in report.message  # type: ignore[attr-defined]
            assert seen == ["sync:1", "async:1"]
            off()
            bus.off(GenerationStarted, async_handler)
            await emitter.emit(GenerationStarted)
            await trio.sleep(1)
            assert seen == ["sync:1", "async:1", "sync:2"]
            assert bus.handler_failures == 1
    assert our_tasks() == []


def _drain(sub: object) -> list[Event]:
    out = []
    while True:
        try:
            out.append(sub.receive_nowait())  # type: ignore[attr-defined]
        except trio.WouldBlock:
            return out
