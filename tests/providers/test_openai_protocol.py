"""OpenAI chat completions through the real SDK and through httpx, against the fake server."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    LLM,
    AuthenticationError,
    BadRequest,
    InvalidResponse,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ToolSpec,
    Usage,
    ValidationError,
)
from abstractcore_actors.testing import FakeOpenAIServer, FakeToolCall, FakeUsage, Fault, Reply

from .conftest import API_KEY

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


async def test_generate(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(
        Reply(text="Hello there", usage=FakeUsage(prompt_tokens=5, completion_tokens=2))
    )
    llm = make_openai_llm()
    with trio.fail_after(10):
        reply = await llm.generate("Hi", system_prompt="Be brief", max_tokens=20, temperature=0.1)
    assert reply.content == "Hello there"
    assert reply.finish_reason == "stop"
    assert reply.usage == Usage(prompt_tokens=5, completion_tokens=2)
    assert reply.provider == llm.provider
    assert reply.request_id.startswith("req_")
    assert reply.timings.total >= 0
    sent = openai_server.requests[-1]
    assert sent.path.endswith("/chat/completions")
    assert sent.json["messages"] == [  # type: ignore[index]
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Hi"},
    ]
    assert sent.json["max_tokens"] == 20  # type: ignore[index]
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"


async def test_stream_chunks_then_a_final_chunk_with_usage(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(Reply(chunks=["Once", " upon", " a", " time"]))
    llm = make_openai_llm()
    with trio.fail_after(10):
        async with llm.stream("Tell a story") as stream:
            chunks = [chunk async for chunk in stream]
    assert "".join(c.text for c in chunks) == "Once upon a time"
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert all(c.finish_reason is None for c in chunks[:-1])
    response = stream.response()
    assert response.content == "Once upon a time"
    assert response.timings.ttft is not None
    assert openai_server.requests[-1].json["stream"] is True  # type: ignore[index]


@pytest.mark.parametrize("streaming", [False, True])
async def test_tool_calls(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer, streaming: bool
) -> None:
    openai_server.push(
        Reply(
            tool_calls=[
                FakeToolCall(name="get_weather", arguments={"city": "Paris"}),
                FakeToolCall(name="get_weather", arguments={"city": "Oslo"}),
            ]
        )
    )
    llm = make_openai_llm()
    with trio.fail_after(10):
        if streaming:
            async with llm.stream("Weather?", tools=[WEATHER]) as stream:
                async for _ in stream:
                    pass
            reply = stream.response()
        else:
            reply = await llm.generate("Weather?", tools=[WEATHER])
    assert reply.finish_reason == "tool_calls"
    assert [(c.name, dict(c.arguments)) for c in reply.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Oslo"}),
    ]
    assert all(c.id for c in reply.tool_calls)
    tools = openai_server.requests[-1].json["tools"]  # type: ignore[index]
    assert tools[0]["function"]["name"] == "get_weather"


async def test_a_stream_without_usage_gets_an_estimate_not_zero(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    """Servers that ignore include_usage (llama.cpp's) must not look free."""
    openai_server.push(Reply(chunks=["one", " two", " three"], stream_usage=False))
    with trio.fail_after(10):
        async with make_openai_llm().stream("Count to three, please") as stream:
            chunks = [chunk async for chunk in stream]
    assert chunks[-1].usage == stream.response().usage
    usage = stream.response().usage
    assert usage.estimated
    assert usage.completion_tokens == 3
    assert usage.prompt_tokens > 0


async def test_usage_from_the_server_is_not_an_estimate(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(Reply(chunks=["one", " two"]))
    with trio.fail_after(10):
        async with make_openai_llm().stream("Count") as stream:
            async for _ in stream:
                pass
    assert not stream.response().usage.estimated
    assert stream.response().usage.completion_tokens == 2


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("required", "required"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
)
async def test_tool_choice_goes_out_in_openai_wire_form(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    choice: object,
    wire: object,
) -> None:
    openai_server.push(Reply(tool_calls=[FakeToolCall(name="get_weather", arguments={})]))
    with trio.fail_after(10):
        await make_openai_llm().generate("Weather?", tools=[WEATHER], tool_choice=choice)
    assert openai_server.requests[-1].json["tool_choice"] == wire  # type: ignore[index]


@pytest.mark.parametrize(
    ("choice", "says"),
    [
        ("get_time", "not among the tools"),
        ({"type": "function"}, '{"type": "function"'),
        (42, "must be 'auto'"),
    ],
)
async def test_bad_tool_choice_is_a_validation_error(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer, choice: object, says: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(says)):
        await make_openai_llm().generate("Weather?", tools=[WEATHER], tool_choice=choice)
    assert openai_server.requests == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.status(401), AuthenticationError),
        (Fault.status(400), BadRequest),
        (Fault.status(500), ProviderUnavailable),
        (Fault.status(503), ProviderUnavailable),
        (Fault.malformed(), InvalidResponse),
        (Fault.truncate(after_chunks=2), InvalidResponse),
        (Fault.reset(after_chunks=2), ProviderUnavailable),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_faults_become_typed_errors(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    fault: Fault,
    error: type[Exception],
    streaming: bool,
) -> None:
    openai_server.push(*[fault] * 5)
    llm = make_openai_llm(max_retries=0)
    with trio.fail_after(10), pytest.raises(error) as info:
        if streaming:
            async with llm.stream("Hi") as stream:
                async for _ in stream:
                    pass
        else:
            await llm.generate("Hi")
    message = str(info.value)
    assert llm.provider in message and "gpt-test" in message
    assert API_KEY not in message and API_KEY not in repr(info.value)


async def test_rate_limit_carries_retry_after(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(Fault.status(429, retry_after=7))
    llm = make_openai_llm(max_retries=0)
    with trio.fail_after(10), pytest.raises(RateLimited) as info:
        await llm.generate("Hi")
    assert info.value.retry_after == pytest.approx(7)


async def test_stall_gives_a_timeout(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push(Fault.stall(120, after_chunks=1))
    llm = make_openai_llm(max_retries=0, read_timeout=5)
    with trio.fail_after(60), pytest.raises(ProviderTimeout):
        async with llm.stream("Hi") as stream:
            async for _ in stream:
                pass


async def test_the_key_never_appears_in_reprs(make_openai_llm: Callable[..., LLM]) -> None:
    llm = make_openai_llm()
    assert API_KEY not in repr(llm)
    assert API_KEY not in repr(llm.config)
