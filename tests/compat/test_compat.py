"""AbstractCore's names (`abstractcore_actors.compat`), pair by pair: the same
object called from sync code, from trio and from asyncio, over real HTTP to
the fake OpenAI server; cancellation carried across the two loops (the
upstream connection closes); the blocking form refused inside a loop,
naming the async one."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import trio

from abstractcore_actors import SyncCalledFromAsync, tool
from abstractcore_actors.compat import (
    AppEvent,
    AsyncSession,
    BasicSession,
    create_llm,
    create_llm_async,
    execute_tool,
    execute_tool_async,
)
from abstractcore_actors.testing import FakeOpenAIServer, FakeToolCall, Reply
from abstractcore_actors.types import ToolCall

from .conftest import wait_until


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def llm_on(server: FakeOpenAIServer) -> Any:
    return create_llm("openai-compatible", "m", base_url=server.base_url, max_retries=0)


# -- sync code --------------------------------------------------------------


def test_sync_generate_stream_session_tools_and_events(server: FakeOpenAIServer) -> None:
    server.push(
        Reply(text="Hello sync"),
        Reply(chunks=["a", "b", "c"]),
        Reply(tool_calls=[FakeToolCall(name="add", arguments={"a": 2, "b": 3})]),
        Reply(text="It is 5."),
    )
    seen: list[str] = []
    with llm_on(server) as llm:
        off = llm.events.on("generation.completed", lambda e: seen.append(e.model))
        assert llm.generate("Hi").content == "Hello sync"
        assert [c.text for c in llm.stream("Hi") if c.text] == ["a", "b", "c"]
        session = BasicSession(llm, system_prompt="Be brief.", tools=[add])
        assert session.generate("2 + 3?").content == "It is 5."
        result = execute_tool(
            ToolCall(id="1", name="add", arguments={"a": 1, "b": 1}), [add], runtime=llm.runtime
        )
        llm.events.emit("my.app.saved", {"rows": 3})
        assert wait_until(lambda: len(seen) == 4)
        off()
    assert result.content == "2" and result.ok
    assert seen == ["m"] * 4
    # its runtime's thread is gone (trio's idle worker threads may linger: not ours)
    assert not [t for t in threading.enumerate() if t.name == "abstractcore-actors-sync"]


def test_the_blocking_forms_inside_a_loop_name_the_async_ones(server: FakeOpenAIServer) -> None:
    with llm_on(server) as llm:

        async def inside() -> list[str]:
            said = []
            for call in (
                lambda: llm.generate("Hi"),
                lambda: llm.stream("Hi"),
                lambda: create_llm("openai-compatible", "m", base_url=server.base_url),
                lambda: llm.events.emit("x"),
            ):
                with pytest.raises(SyncCalledFromAsync) as raised:
                    call()
                said.append(str(raised.value))
            return said

        for said in (trio.run(inside), asyncio.run(inside())):
            assert "generate_async" in said[0]
            assert "stream_async" in said[1]
            assert "create_llm_async" in said[2]
            assert "emit_async" in said[3]


# -- asyncio ----------------------------------------------------------------


def test_asyncio_generate_stream_session_and_events(server: FakeOpenAIServer) -> None:
    server.push(
        Reply(text="Hello asyncio"),
        Reply(chunks=["x", "y"]),
        Reply(text="first"),
        Reply(chunks=["s", "t"]),
    )

    async def main() -> dict[str, Any]:
        got: list[Any] = []
        async with await create_llm_async(
            "openai-compatible", "m", base_url=server.base_url
        ) as llm:
            listener = asyncio.create_task(llm.events.on_async("my.app.ping", got.append))
            await asyncio.sleep(0.2)  # subscribed
            reply = await llm.generate_async("Hi")
            chunks = [c.text async for c in llm.stream_async("Hi") if c.text]
            session = AsyncSession(llm, system_prompt="Be brief.")
            first = await session.generate("one")
            streamed = [c.text async for c in session.stream("two") if c.text]
            await llm.events.emit_async("my.app.ping", {"n": 1})
            while not got:  # noqa: ASYNC110 - filled by the listener task
                await asyncio.sleep(0.01)
            listener.cancel()
            with pytest.raises(asyncio.CancelledError):
                await listener
            history = [m.role for m in session.history]
        return {
            "reply": reply.content,
            "chunks": chunks,
            "first": first.content,
            "streamed": streamed,
            "got": got,
            "history": history,
        }

    seen = asyncio.run(main())
    assert seen["reply"] == "Hello asyncio" and seen["chunks"] == ["x", "y"]
    assert seen["first"] == "first" and seen["streamed"] == ["s", "t"]
    [event] = seen["got"]
    assert isinstance(event, AppEvent) and event.data == {"n": 1}
    assert seen["history"] == ["user", "assistant", "user", "assistant"]


def test_asyncio_cancel_closes_the_upstream_call(server: FakeOpenAIServer) -> None:
    server.push(Reply(text="late", ttft=30), Reply(text="w " * 400, token_latency=0.02))

    async def main() -> None:
        async with await create_llm_async(
            "openai-compatible", "m", base_url=server.base_url
        ) as llm:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(llm.generate_async("Hi"), timeout=0.3)
            assert await asyncio.to_thread(wait_until, lambda: server.open_connections == 0)
            async for n, _ in _enumerate(llm.stream_async("Hi")):
                if n == 3:
                    break  # the iterator is dropped unclosed: it closes itself
            assert await asyncio.to_thread(wait_until, lambda: server.open_connections == 0)

    asyncio.run(main())


async def _enumerate(items: Any) -> Any:
    n = 0
    async for item in items:
        yield n, item
        n += 1


# -- trio ---------------------------------------------------------------------


def test_trio_generate_stream_tools_and_a_cancelled_call(server: FakeOpenAIServer) -> None:
    server.push(
        Reply(text="Hello trio"),
        Reply(chunks=["p", "q"]),
        Reply(text="late", ttft=30),
        Reply(text="w " * 400, token_latency=0.02),
    )

    async def main() -> dict[str, Any]:
        async with await create_llm_async(
            "openai-compatible", "m", base_url=server.base_url
        ) as llm:
            reply = await llm.generate_async("Hi")
            async with llm.stream_async("Hi") as stream:
                chunks = [c.text async for c in stream if c.text]
            local = await execute_tool_async(
                ToolCall(id="1", name="add", arguments={"a": 4, "b": 4}), [add]
            )
            remote = await execute_tool_async(
                ToolCall(id="2", name="add", arguments={"a": "x"}), [add], runtime=llm.runtime
            )
            with trio.move_on_after(0.3) as scope:
                await llm.generate_async("Hi")
            closed = await trio.to_thread.run_sync(wait_until, lambda: server.open_connections == 0)
            session = AsyncSession(llm)
            async with trio.open_nursery() as nursery:

                async def stop_soon() -> None:
                    await trio.sleep(0.3)
                    nursery.cancel_scope.cancel()

                nursery.start_soon(stop_soon)
                async for _ in session.stream("long"):
                    pass
            session_closed = await trio.to_thread.run_sync(
                wait_until, lambda: server.open_connections == 0
            )
        return {
            "reply": reply.content,
            "chunks": chunks,
            "local": local,
            "remote": remote,
            "cancelled": scope.cancelled_caught,
            "closed": closed and session_closed,
        }

    seen = trio.run(main)
    assert seen["reply"] == "Hello trio" and seen["chunks"] == ["p", "q"]
    assert seen["local"].content == "8"
    assert "invalid arguments for tool add" in (seen["remote"].error or "")
    assert seen["cancelled"] and seen["closed"]
