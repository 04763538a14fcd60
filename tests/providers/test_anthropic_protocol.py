"""Anthropic's Messages API through the real SDK, against the fake server."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    LLM,
    AuthenticationError,
    BadRequest,
    InvalidResponse,
    Message,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Runtime,
    ToolCall,
    ToolResult,
    ToolSpec,
    Usage,
)
from abstractcore_actors.testing import (
    FakeAnthropicServer,
    FakeToolCall,
    FakeUsage,
    Fault,
    Reply,
)

KEY = "sk-ant-test-SECRET-0123456789"
WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


@pytest.fixture
def claude(rt: Runtime, anthropic_server: FakeAnthropicServer) -> LLM:
    return rt.create_llm(
        "anthropic",
        "claude-test",
        base_url=anthropic_server.base_url,
        api_key=KEY,
        max_retries=0,
        read_timeout=5,
    )


async def test_generate_sends_anthropic_shapes(
    claude: LLM, anthropic_server: FakeAnthropicServer
) -> None:
    usage = FakeUsage(prompt_tokens=9, completion_tokens=3)
    anthropic_server.push(Reply(text="Bonjour", usage=usage))
    history = [
        Message.user("What is the weather in Paris?"),
        Message.assistant(
            tool_calls=[ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Paris"})]
        ),
        Message.tool(ToolResult(call_id="toolu_1", name="get_weather", content="sunny")),
        Message.tool(ToolResult(call_id="toolu_2", name="get_weather", content="", error="boom")),
    ]
    with trio.fail_after(10):
        reply = await claude.generate(
            messages=history, system_prompt="Be brief", tools=[WEATHER], temperature=1.5
        )
    assert reply.content == "Bonjour"
    assert reply.finish_reason == "stop"
    assert reply.usage == Usage(prompt_tokens=9, completion_tokens=3)
    sent = anthropic_server.requests[-1]
    assert sent.path == "/v1/messages"
    assert KEY in (sent.headers.get("x-api-key"), sent.headers.get("authorization", "")[7:])
    body = sent.json
    assert isinstance(body, dict)
    assert body["system"] == "Be brief"
    assert body["max_tokens"] == 1024
    assert body["temperature"] == 1.0  # clamped to Anthropic's range
    assert body["tools"][0]["input_schema"]["properties"]["city"] == {"type": "string"}
    roles = [turn["role"] for turn in body["messages"]]
    assert roles == ["user", "assistant", "user"]  # both tool results merged in one turn
    results = body["messages"][2]["content"]
    assert [b["type"] for b in results] == ["tool_result", "tool_result"]
    assert results[1]["is_error"] is True


async def test_stream_maps_events_to_chunks(
    claude: LLM, anthropic_server: FakeAnthropicServer
) -> None:
    anthropic_server.push(
        Reply(chunks=["Hel", "lo", "!"], usage=FakeUsage(prompt_tokens=4, completion_tokens=3))
    )
    with trio.fail_after(10):
        async with claude.stream("Hi") as stream:
            chunks = [c async for c in stream]
    assert "".join(c.text for c in chunks) == "Hello!"
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage == Usage(prompt_tokens=4, completion_tokens=3)


@pytest.mark.parametrize("streaming", [False, True])
async def test_tool_use(
    claude: LLM, anthropic_server: FakeAnthropicServer, streaming: bool
) -> None:
    anthropic_server.push(
        Reply(
            text="Let me check.",
            tool_calls=[FakeToolCall(name="get_weather", arguments={"city": "Oslo"})],
        )
    )
    with trio.fail_after(10):
        if streaming:
            async with claude.stream("Weather?", tools=[WEATHER]) as stream:
                async for _ in stream:
                    pass
            reply = stream.response()
        else:
            reply = await claude.generate("Weather?", tools=[WEATHER])
    assert reply.content == "Let me check."
    assert reply.finish_reason == "tool_calls"
    (call,) = reply.tool_calls
    assert (call.name, dict(call.arguments)) == ("get_weather", {"city": "Oslo"})
    assert call.id == "toolu_0"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.status(401), AuthenticationError),
        (Fault.status(400), BadRequest),
        (Fault.status(429, retry_after=3), RateLimited),
        (Fault.status(500), ProviderUnavailable),
        (Fault.status(529), ProviderUnavailable),
        (Fault.reset(after_chunks=2), ProviderUnavailable),
        (Fault.malformed(after_chunks=1), InvalidResponse),
        (Fault.truncate(after_chunks=2), InvalidResponse),
        (Fault.sse_error(after_chunks=1), ProviderUnavailable),
    ],
)
async def test_faults_while_streaming(
    claude: LLM, anthropic_server: FakeAnthropicServer, fault: Fault, error: type[Exception]
) -> None:
    anthropic_server.push(fault)
    with trio.fail_after(10), pytest.raises(error) as info:
        async with claude.stream("Hi") as stream:
            async for _ in stream:
                pass
    assert "anthropic (claude-test)" in str(info.value)
    assert KEY not in str(info.value)
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == pytest.approx(3)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.status(401), AuthenticationError),
        (Fault.reset(), ProviderUnavailable),
        (Fault.malformed(), InvalidResponse),
        (Fault.truncate(), InvalidResponse),
    ],
)
async def test_faults_without_streaming(
    claude: LLM, anthropic_server: FakeAnthropicServer, fault: Fault, error: type[Exception]
) -> None:
    anthropic_server.push(fault)
    with trio.fail_after(10), pytest.raises(error):
        await claude.generate("Hi")


async def test_stall_gives_a_timeout(
    claude: LLM, anthropic_server: FakeAnthropicServer, autojump_clock: trio.testing.MockClock
) -> None:
    anthropic_server.push(Fault.stall(60, after_chunks=1))
    with trio.fail_after(30), pytest.raises(ProviderTimeout):
        async with claude.stream("Hi") as stream:
            async for _ in stream:
                pass


async def test_leaving_a_stream_early_closes_the_connection(
    claude: LLM, anthropic_server: FakeAnthropicServer, autojump_clock: trio.testing.MockClock
) -> None:
    anthropic_server.push(Reply(text=" ".join(["word"] * 100), token_latency=0.1))
    async with claude.stream("Hi") as stream:
        async for _ in stream:
            if stream.text.count("word") == 2:
                break
    with trio.fail_after(1):
        await anthropic_server.wait_for_connections(0)
