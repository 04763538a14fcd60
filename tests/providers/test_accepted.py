"""`ResponseStream.wait_accepted`: the provider has taken the call on — a hosted
API's 200 head, before its first token — through the real SDKs and our HTTP
client against the fake servers; at the first chunk where that cannot be told."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from abstractcore_actors import LLM, BadRequest, Chunk, InvalidResponse, Runtime, open_runtime
from abstractcore_actors._providers._adapter import ProviderConfig
from abstractcore_actors._providers._response_stream import ResponseStream
from abstractcore_actors.testing import (
    FakeAnthropicServer,
    FakeOpenAIServer,
    Fault,
    Reply,
    open_fake_openai_server,
)
from abstractcore_actors.types import Request

from .conftest import API_KEY, FAST

THINKING = 20.0  # the upstream's wait before its first token (read_timeout is 30)


@pytest.fixture(params=["openai", "openai-compatible", "anthropic"])
def hosted(
    request: pytest.FixtureRequest,
    rt: Runtime,
    openai_server: FakeOpenAIServer,
    anthropic_server: FakeAnthropicServer,
) -> tuple[LLM, FakeOpenAIServer | FakeAnthropicServer]:
    """An LLM on each hosted wire (SDK or our client) and the fake server behind it."""
    server = anthropic_server if request.param == "anthropic" else openai_server
    llm = rt.create_llm(request.param, "m-test", base_url=server.base_url, api_key=API_KEY, **FAST)
    return llm, server


async def test_accepted_at_the_upstreams_head_before_its_first_token(
    hosted: tuple[LLM, FakeOpenAIServer | FakeAnthropicServer],
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm, server = hosted
    server.push(Reply(chunks=["one ", "two"], ttft=THINKING))
    with trio.fail_after(THINKING * 2):
        async with llm.stream("Hi") as stream:
            await stream.wait_accepted()
            assert trio.current_time() < THINKING  # the model is still "thinking"
            assert server.active_requests == 1
            with pytest.raises(trio.WouldBlock):
                stream.receive_nowait()  # acceptance is no chunk
            await stream.wait_accepted()  # a second call returns at once
            chunks = [c async for c in stream]
    assert trio.current_time() >= THINKING
    assert all(isinstance(c, Chunk) for c in chunks)
    assert "".join(c.text for c in chunks) == "one two"
    assert stream.response().content == "one two"


async def test_an_error_before_acceptance_is_raised_by_wait_accepted(
    hosted: tuple[LLM, FakeOpenAIServer | FakeAnthropicServer],
) -> None:
    llm, server = hosted
    server.push(Fault.status(400, "no such thing"))
    with trio.fail_after(10):
        async with llm.stream("Hi") as stream:
            with pytest.raises(BadRequest):
                await stream.wait_accepted()


async def test_an_error_after_acceptance_comes_from_the_stream(
    hosted: tuple[LLM, FakeOpenAIServer | FakeAnthropicServer],
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm, server = hosted
    server.push(*[Fault.malformed()] * 4)  # every attempt, retries included
    with trio.fail_after(60):
        async with llm.stream("Hi") as stream:
            await stream.wait_accepted()
            with pytest.raises(InvalidResponse):
                async for _ in stream:
                    pass


# Faults that come after the upstream's 200 head but before any token: each
# attempt is accepted, fails and is retried; the caller sees acceptance once
# and then exactly the answer that finally came.
_BEFORE_A_TOKEN = st.sampled_from(
    [Fault.reset(after_chunks=0), Fault.truncate(after_chunks=0), Fault.status(503, "busy")]
)


@settings(max_examples=25, deadline=None)
@given(faults=st.lists(_BEFORE_A_TOKEN, max_size=3), words=st.integers(1, 40))
def test_retried_attempts_are_accepted_once_and_lose_nothing(
    faults: list[Fault], words: int
) -> None:
    text = "w " * words

    async def main() -> None:
        async with open_fake_openai_server() as server, open_runtime(env={}) as rt:
            server.push(*faults, Reply(text=text))
            llm = rt.create_llm(
                "openai-compatible",
                "m-test",
                base_url=server.base_url,
                api_key=API_KEY,
                **{**FAST, "max_retries": 3},
            )
            async with llm.stream("Hi") as stream:
                await stream.wait_accepted()
                items = [c async for c in stream]
            assert all(isinstance(c, Chunk) for c in items)
            assert "".join(c.text for c in items) == text
            assert len(server.requests) == len(faults) + 1

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


# Where acceptance cannot be told (a local model; any plain iterator of chunks),
# wait_accepted reads the first chunk ahead and keeps it for the reader.


async def _chunks(*texts: str) -> AsyncIterator[Chunk]:
    for text in texts:
        yield Chunk(text=text)


def _stream(items: AsyncIterator[Chunk]) -> ResponseStream:
    config = ProviderConfig(provider="local", model="m")
    return ResponseStream(items, config, Request(messages=()))


async def test_without_acceptance_the_first_chunk_is_read_ahead_and_kept() -> None:
    stream = _stream(_chunks("a", "b", "c"))
    await stream.wait_accepted()
    assert stream.text == "a"  # taken: the stream's record has it
    await stream.wait_accepted()  # idempotent: reads nothing more
    assert stream.receive_nowait().text == "a"  # the kept chunk, first
    assert [c.text async for c in stream] == ["b", "c"]


async def test_the_kept_chunk_comes_first_through_async_for() -> None:
    stream = _stream(_chunks("a", "b"))
    await stream.wait_accepted()
    assert [c.text async for c in stream] == ["a", "b"]


async def test_an_empty_stream_is_accepted_at_its_end() -> None:
    stream = _stream(_chunks())
    await stream.wait_accepted()
    assert [c async for c in stream] == []
    assert stream.response().timings.total >= 0


async def test_an_error_before_any_chunk_is_raised_by_wait_accepted() -> None:
    async def failing() -> AsyncIterator[Chunk]:
        raise InvalidResponse("nothing came", provider="local", model="m")
        yield Chunk(text="never")

    stream = _stream(failing())
    with pytest.raises(InvalidResponse):
        await stream.wait_accepted()
