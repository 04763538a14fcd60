"""Bad input gets a clear typed error; nothing hangs."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    AbstractCoreActorsError,
    ActorContext,
    ActorCrashed,
    AskTimeout,
    Behaviour,
    Runtime,
    UnhandledMessage,
    ValidationError,
)

from .conftest import Echo


@pytest.mark.parametrize("timeout", [0, -1, -0.5, float("nan"), "1", True])
async def test_ask_rejects_a_bad_timeout(rt: Runtime, timeout: Any) -> None:
    echo = await rt.spawn(Echo)
    with pytest.raises(ValidationError, match="timeout must be"):
        await echo.ask(1, timeout=timeout)
    assert await echo.ask(2) == 2  # the actor is untouched


async def test_handler_that_raises_gives_actor_crashed_with_the_cause(rt: Runtime) -> None:
    echo = await rt.spawn(Echo, name="e")
    with pytest.raises(ActorCrashed, match="ValueError: boom") as info:
        await echo.ask("boom")
    assert isinstance(info.value.__cause__, ValueError)
    assert isinstance(info.value.reason, ValueError)
    assert isinstance(info.value, AbstractCoreActorsError)
    # restarted under the same ref and name
    assert await echo.ask("ok") == "ok"
    assert echo.restarts == 1
    assert rt.lookup("e") is echo


async def test_handler_that_never_returns_times_out_and_the_actor_goes_on(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    cancelled: list[bool] = []

    class Hangs(Behaviour):
        async def receive(self, message: object, ctx: ActorContext) -> Any:
            if message == "hang":
                try:
                    await trio.sleep_forever()
                except trio.Cancelled:
                    cancelled.append(True)
                    raise
            return message

    ref = await rt.spawn(Hangs, name="h")
    start = trio.current_time()
    with pytest.raises(AskTimeout, match="'h' did not reply within 2s") as info:
        await ref.ask("hang", timeout=2)
    assert trio.current_time() - start == pytest.approx(2)
    assert isinstance(info.value, TimeoutError)
    assert cancelled == [True]  # the work was cancelled, not left running
    assert await ref.ask("next", timeout=1) == "next"
    assert ref.restarts == 0


async def test_unknown_message_is_a_typed_error_not_a_crash(rt: Runtime) -> None:
    class OnlyInts(Behaviour):
        async def receive(self, message: object, ctx: ActorContext) -> Any:
            match message:
                case int():
                    return message * 2
                case _:
                    raise UnhandledMessage(ctx.name, message)

    ref = await rt.spawn(OnlyInts, name="ints")
    with pytest.raises(UnhandledMessage, match="cannot receive a str message"):
        await ref.ask("nope")
    with pytest.raises(UnhandledMessage, match="cannot stream"):
        async with ref.stream(1) as items:
            async for _ in items:
                pass
    assert await ref.ask(4) == 8
    assert ref.restarts == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mailbox_size": -1}, "mailbox_size must be >= 0"),
        ({"concurrency": 0}, "concurrency must be >= 1"),
        ({"name": ""}, "non-empty string"),
    ],
)
async def test_spawn_rejects_bad_arguments(rt: Runtime, kwargs: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        await rt.spawn(Echo, **kwargs)
    assert rt.names() == []


async def test_spawn_rejects_a_non_callable(rt: Runtime) -> None:
    with pytest.raises(ValidationError, match="Behaviour class"):
        await rt.spawn(Echo(), name="x")  # type: ignore[arg-type]


async def test_a_failing_started_hook_fails_the_spawn(rt: Runtime) -> None:
    class BadStart(Behaviour):
        async def started(self, ctx: ActorContext) -> None:
            raise OSError("cannot open resource")

    with pytest.raises(ActorCrashed, match="cannot open resource"):
        await rt.spawn(BadStart, name="bad")
    assert rt.names() == []  # the name was freed


async def test_stream_rejects_negative_buffer(rt: Runtime) -> None:
    echo = await rt.spawn(Echo)
    with pytest.raises(ValidationError, match="buffer"):
        async with echo.stream(1, buffer=-1):
            pass


@pytest.mark.parametrize("strategy", ["one_for_everyone", "ALL"])
async def test_unknown_strategy(rt: Runtime, strategy: str) -> None:
    with pytest.raises(ValidationError, match="one_for_one, one_for_all, rest_for_one"):
        async with rt.supervise(strategy=strategy):
            pass
