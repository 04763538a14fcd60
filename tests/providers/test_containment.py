"""A bug met while handling one call fails that call alone.

The adapter here is the real openai-compatible one, on the real fake server,
with one fault injected: a prompt containing BUG makes it raise an ordinary
Python exception (before the request, or after some chunks), as a bug in our
encoding or decoding would. Every other call on the same actor must go on;
the actor must not restart; nothing must be retried or counted as the
upstream's failure; and leaving the runtime must raise nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from abstractcore_actors import LLM, InternalError, Runtime
from abstractcore_actors._providers import ProviderActor, build_provider
from abstractcore_actors._providers._compatible import CompatibleAdapter
from abstractcore_actors.testing import FakeOpenAIServer, Reply
from abstractcore_actors.types import Chunk, GenerateResponse, Request

from .conftest import API_KEY


class _Bug(Exception):
    pass


def _buggy(request: Request) -> bool:
    return any("BUG" in m.content for m in request.messages)


class BuggyAdapter(CompatibleAdapter):
    """The real adapter, with a bug on prompts that contain BUG."""

    starts = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        BuggyAdapter.starts += 1

    async def generate(self, request: Request) -> GenerateResponse:
        if _buggy(request):
            raise _Bug(f"encoding failed, key {API_KEY} in the message")
        return await super().generate(request)

    async def stream(self, request: Request) -> AsyncIterator[Any]:
        seen = 0
        async for item in super().stream(request):
            if isinstance(item, Chunk) and item.text:
                seen += 1
                if _buggy(request) and seen == 2:
                    raise _Bug("decoding the third chunk failed")
            yield item


def buggy_llm(rt: Runtime, server: FakeOpenAIServer, **options: Any) -> LLM:
    config, policy, _ = build_provider(
        "openai-compatible",
        "gpt-test",
        {"base_url": server.base_url, "api_key": API_KEY, "retry_seed": 1, **options},
        {},
    )
    ref = rt.actors.root.spawn_nowait(
        lambda: ProviderActor(config, policy, BuggyAdapter, rt.events),
        name="buggy",
        concurrency=None,
    )
    return LLM(ref, config)


async def test_one_buggy_stream_leaves_ten_good_ones_alone(
    rt: Runtime, openai_server: FakeOpenAIServer, autojump_clock: trio.testing.MockClock
) -> None:
    BuggyAdapter.starts = 0
    llm = buggy_llm(rt, openai_server, max_concurrent=16)
    for _ in range(11):
        openai_server.push(Reply(text="one two three four five six", token_latency=0.5))
    texts: dict[int, str] = {}
    errors: list[BaseException] = []

    async def good(i: int) -> None:
        async with llm.stream(f"story {i}") as stream:
            texts[i] = "".join([chunk.text async for chunk in stream])

    async def bad() -> None:
        await trio.sleep(0.6)  # while the ten are mid-stream
        try:
            async with llm.stream("BUG") as stream:
                async for _ in stream:
                    pass
        except InternalError as exc:
            errors.append(exc)

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for i in range(10):
                nursery.start_soon(good, i)
            nursery.start_soon(bad)
    assert len(texts) == 10
    assert set(texts.values()) == {"one two three four five six"}
    (error,) = errors
    assert "decoding the third chunk failed" in str(error)
    assert "bug in abstractcore-actors" in str(error)
    assert error.first_token_sent
    assert BuggyAdapter.starts == 1  # the actor was never restarted
    assert len(openai_server.requests) == 11  # the buggy call was not retried


async def test_a_bug_is_not_retried_not_counted_and_logged_redacted(
    rt: Runtime,
    openai_server: FakeOpenAIServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    BuggyAdapter.starts = 0
    llm = buggy_llm(rt, openai_server, failure_threshold=2, max_retries=3)
    caplog.set_level(logging.ERROR, logger="abstractcore_actors.providers")
    with trio.fail_after(10):
        for _ in range(5):  # well past the breaker's threshold of 2
            with pytest.raises(InternalError, match="encoding failed") as caught:
                await llm.generate("BUG")
            assert API_KEY not in str(caught.value)
        assert openai_server.requests == []  # raised before any request, never retried
        openai_server.push(Reply(text="still here"))
        assert (await llm.generate("hello")).content == "still here"  # breaker closed
    assert BuggyAdapter.starts == 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged.count("internal error while handling the call") == 5
    assert "Traceback" in logged and "_Bug" in logged
    assert API_KEY not in logged
