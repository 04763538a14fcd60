"""A cancelled call closes its upstream connection before it returns."""

from __future__ import annotations

from collections.abc import Callable

import trio
import trio.testing

from abstractcore_actors import LLM
from abstractcore_actors.testing import FakeOpenAIServer, Reply

SLOW = Reply(text=" ".join(["word"] * 200), token_latency=0.1)


async def test_leaving_a_stream_early_closes_the_connection(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push(SLOW)
    llm = make_openai_llm()
    async with llm.stream("Hi") as stream:
        async for _ in stream:
            if stream.text.count("word") >= 3:
                break
        assert openai_server.open_connections == 1
    # the block has exited: the connection is already closed, no waiting
    with trio.fail_after(1):
        await openai_server.wait_for_connections(0)
    assert openai_server.closed_connections >= 1


async def test_a_cancel_scope_around_a_stream_closes_the_connection(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push(SLOW)
    llm = make_openai_llm()
    with trio.move_on_after(2) as scope:
        async with llm.stream("Hi") as stream:
            async for _ in stream:
                pass
    assert scope.cancelled_caught
    with trio.fail_after(1):
        await openai_server.wait_for_connections(0)


async def test_a_timeout_on_generate_closes_the_connection(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push(Reply(text="slow", ttft=100))
    llm = make_openai_llm()
    with trio.move_on_after(1):
        await llm.generate("Hi")
    with trio.fail_after(1):
        await openai_server.wait_for_connections(0)
    # the actor is unharmed and serves the next call
    openai_server.push(Reply(text="next"))
    assert (await llm.generate("Hi")).content == "next"


async def test_cancelling_one_caller_leaves_the_others_running(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = make_openai_llm()
    openai_server.push(Reply(text="a", ttft=5), Reply(text="b", ttft=5))
    results: list[str] = []

    async def keep() -> None:
        results.append((await llm.generate("keep")).content)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(keep)
        with trio.move_on_after(1):
            await llm.generate("cancel me")
    assert len(results) == 1
