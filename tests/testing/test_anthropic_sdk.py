"""The real `anthropic.AsyncAnthropic` against the fake Anthropic server: generate,
stream, tool use, usage, and the SDK error each fault produces."""

from __future__ import annotations

import json

import anthropic
import pytest
import trio
import trio.testing

from abstractcore_actors.testing import (
    FakeToolCall,
    FakeUsage,
    Fault,
    Reply,
    open_fake_anthropic_server,
)

from .conftest import DEADLINE, USER, anthropic_client, warm_up

try:  # the SDK's transport: httpx2 from anthropic 2.x, httpx before
    import httpx2
except ImportError:
    import httpx as httpx2  # type: ignore[no-redef]

# How the SDK surfaces a fault while a stream is read has changed within the
# supported range: the raw httpx2 error up to 2.16, the SDK's own
# APIConnectionError / APITimeoutError (caused by that httpx2 error) from 2.17.
MID_STREAM_RESET = (httpx2.ReadError, anthropic.APIConnectionError)
MID_STREAM_TIMEOUT = (httpx2.ReadTimeout, anthropic.APITimeoutError)


def assert_transport_error(exc: BaseException, transport: type[BaseException]) -> None:
    """`exc` is the transport's error, or the SDK's wrapper of exactly that error."""
    if isinstance(exc, anthropic.APIConnectionError):
        assert isinstance(exc.__cause__, transport), repr(exc.__cause__)
    else:
        assert isinstance(exc, transport), repr(exc)


WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


async def test_generate() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server([Reply(text="Hello there")]) as server:
            message = await anthropic_client(server).messages.create(
                model="claude-test",
                max_tokens=50,
                system="Be brief and kind",
                messages=[{"role": "user", "content": "Hi, how are you?"}],
            )
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "claude-test"
    assert [(block.type, block.text) for block in message.content] == [("text", "Hello there")]  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    # input: the words of the messages and of `system`; output: the chunks of a stream
    assert (message.usage.input_tokens, message.usage.output_tokens) == (8, 2)
    assert message._request_id is not None and message._request_id.startswith("req_")
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/messages")  # the SDK added /v1
    assert sent.headers["authorization"] == "Bearer test"
    assert sent.headers["anthropic-version"]


async def test_stream_helper_text_and_final_message() -> None:
    reply = Reply(
        chunks=["Hel", "lo", "!"],
        finish_reason="length",
        usage=FakeUsage(prompt_tokens=4, completion_tokens=3),
    )
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server([reply]) as server:
            helper = anthropic_client(server).messages.stream(
                model="claude-test", max_tokens=3, messages=USER
            )
            async with helper as stream:
                pieces = [text async for text in stream.text_stream]
                final = await stream.get_final_message()
    assert pieces == ["Hel", "lo", "!"]
    assert final.content[0].text == "Hello!"  # type: ignore[union-attr]
    assert final.stop_reason == "max_tokens"  # mapped from OpenAI's "length"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (4, 3)


async def test_raw_stream_events() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server([Reply(text="a b")]) as server:
            stream = await anthropic_client(server).messages.create(
                model="claude-test", max_tokens=10, messages=USER, stream=True
            )
            events = [event async for event in stream]
    # the SDK drops `ping`
    assert [event.type for event in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0].message.usage.input_tokens == 2  # type: ignore[union-attr]
    assert events[-2].usage.output_tokens == 2  # type: ignore[union-attr]


async def test_tool_use() -> None:
    call = FakeToolCall(name="get_weather", arguments={"city": "Oslo"})
    script = [Reply(text="Checking.", tool_calls=[call])] * 2
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server(script) as server:
            client = anthropic_client(server)
            message = await client.messages.create(
                model="claude-test",
                max_tokens=50,
                messages=USER,
                tools=[WEATHER],  # type: ignore[list-item]
            )
            helper = client.messages.stream(
                model="claude-test",
                max_tokens=50,
                messages=USER,
                tools=[WEATHER],  # type: ignore[list-item]
            )
            async with helper as stream:
                partial = [
                    event.partial_json async for event in stream if event.type == "input_json"
                ]
                streamed = await stream.get_final_message()
            assert server.requests[0].json["tools"] == [WEATHER]  # type: ignore[index]
    for final in (message, streamed):
        assert final.stop_reason == "tool_use"
        text, tool = final.content
        assert text.type == "text" and text.text == "Checking."  # type: ignore[union-attr]
        assert tool.type == "tool_use"
        assert (tool.id, tool.name, tool.input) == ("toolu_0", "get_weather", {"city": "Oslo"})  # type: ignore[union-attr]
    assert len(partial) == 2 and json.loads("".join(partial)) == {"city": "Oslo"}


async def test_malformed_tool_input_is_sent_verbatim() -> None:
    call = FakeToolCall(name="f", arguments="{oops", id="toolu_x")
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server([Reply(tool_calls=[call])] * 2) as server:
            client = anthropic_client(server)
            message = await client.messages.create(model="claude-test", max_tokens=5, messages=USER)
            stream = await client.messages.create(
                model="claude-test", max_tokens=5, messages=USER, stream=True
            )
            partial = [
                event.delta.partial_json  # type: ignore[union-attr]
                async for event in stream
                if event.type == "content_block_delta"
            ]
    (tool,) = message.content
    assert (tool.id, tool.input) == ("toolu_x", "{oops")  # type: ignore[union-attr]
    assert "".join(partial) == "{oops"


async def test_a_wrong_api_key_is_an_authentication_error() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server(api_key="right") as server:
            with pytest.raises(anthropic.AuthenticationError) as caught:
                await anthropic_client(server, api_key="wrong").messages.create(
                    model="claude-test", max_tokens=5, messages=USER
                )
            ok = await anthropic_client(server, api_key="right").messages.create(
                model="claude-test", max_tokens=5, messages=USER
            )
    assert caught.value.status_code == 401
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }
    assert ok.content[0].text == "echo: hello there"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("code", "error", "kind"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_status_faults(
    code: int, error: type[anthropic.APIStatusError], kind: str, stream: bool
) -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server(
            [Fault.status(code, "nope", retry_after=30)]
        ) as server:
            with pytest.raises(error) as caught:
                await anthropic_client(server).messages.create(
                    model="claude-test", max_tokens=5, messages=USER, stream=stream
                )
    assert caught.value.status_code == code
    assert caught.value.body == {"type": "error", "error": {"type": kind, "message": "nope"}}
    assert caught.value.response.headers["retry-after"] == "30"


async def test_reset() -> None:
    script = [Fault.reset(), Fault.reset(after_chunks=2)]
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server(script) as server:
            client = anthropic_client(server)
            with pytest.raises(anthropic.APIConnectionError):
                await client.messages.create(model="claude-test", max_tokens=5, messages=USER)
            stream = await client.messages.create(
                model="claude-test", max_tokens=5, messages=USER, stream=True
            )
            types: list[str] = []
            # Mid-stream, SDKs up to 2.16 let the transport's own error through
            # unwrapped; 2.17 wraps it. Both are a reset of this connection.
            with pytest.raises(MID_STREAM_RESET) as caught:
                async for event in stream:
                    types.append(event.type)
            assert_transport_error(caught.value, httpx2.ReadError)
            await server.wait_for_connections(0)
    assert types.count("content_block_delta") == 2


async def test_malformed_is_a_json_error() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server([Fault.malformed(), Fault.malformed(1)]) as server:
            client = anthropic_client(server)
            with pytest.raises(json.JSONDecodeError):
                await client.messages.create(model="claude-test", max_tokens=5, messages=USER)
            stream = await client.messages.create(
                model="claude-test", max_tokens=5, messages=USER, stream=True
            )
            with pytest.raises(json.JSONDecodeError):
                async for _ in stream:
                    pass


async def test_truncation() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server([Fault.truncate(), Fault.truncate(2)]) as server:
            client = anthropic_client(server)
            with pytest.raises(anthropic.APIConnectionError):
                await client.messages.create(model="claude-test", max_tokens=5, messages=USER)
            helper = client.messages.stream(model="claude-test", max_tokens=5, messages=USER)
            async with helper as stream:
                final = await stream.get_final_message()
    # No error: the helper hands back what it got. Only stop_reason None tells.
    assert final.stop_reason is None
    assert final.content[0].text == "this partial"  # type: ignore[union-attr]


async def test_an_error_event_mid_stream() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server([Fault.sse_error(after_chunks=1)]) as server:
            helper = anthropic_client(server).messages.stream(
                model="claude-test", max_tokens=5, messages=USER
            )
            got: list[str] = []
            with pytest.raises(anthropic.APIStatusError) as caught:
                async with helper as stream:
                    async for text in stream.text_stream:
                        got.append(text)
    assert got == ["this"]
    # the HTTP status was 200: the SDK builds a plain APIStatusError from the event
    assert type(caught.value) is anthropic.APIStatusError
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


async def test_a_stall_mid_stream_is_the_transport_s_read_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE + 100):
        script = [Fault.stall(60), Fault.stall(60, after_chunks=1)]
        async with open_fake_anthropic_server(script) as server:
            client = anthropic.AsyncAnthropic(
                base_url=server.base_url, api_key="k", max_retries=0, timeout=5
            )
            await warm_up(client, autojump_clock)
            with pytest.raises(anthropic.APITimeoutError):  # non-stream: the SDK's error
                await client.messages.create(model="claude-test", max_tokens=50, messages=USER)
            helper = client.messages.stream(model="claude-test", max_tokens=50, messages=USER)
            got: list[str] = []
            # mid-stream: httpx2's own timeout (SDK <= 2.16) or the SDK's wrapper
            with pytest.raises(MID_STREAM_TIMEOUT) as caught:
                async with helper as stream:
                    async for text in stream.text_stream:
                        got.append(text)
                        start = trio.current_time()
            assert_transport_error(caught.value, httpx2.ReadTimeout)
            assert trio.current_time() - start == pytest.approx(5)
            assert got == ["this"]
            await server.wait_for_connections(0)


async def test_closing_a_stream_early_closes_the_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    reply = Reply(text="word " * 100, token_latency=10)
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server([reply]) as server:
            client = anthropic_client(server)
            await warm_up(client, autojump_clock)
            helper = client.messages.stream(model="claude-test", max_tokens=500, messages=USER)
            async with helper as stream:
                async for _ in stream.text_stream:
                    break
                assert (server.open_connections, server.active_requests) == (1, 1)
                start = trio.current_time()
            await server.wait_for_connections(0)
            assert trio.current_time() - start < 1  # not at the next write, 10 s later
            assert server.active_requests == 0
