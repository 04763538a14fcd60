"""The real `openai.AsyncOpenAI` against the fake OpenAI server: generate, stream,
tool calls, usage, embeddings, and the SDK error each fault produces."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
import trio
import trio.testing

from abstractcore_actors.testing import (
    FakeToolCall,
    FakeUsage,
    Fault,
    RecordedRequest,
    Reply,
    last_user_text,
    open_fake_openai_server,
)

from .conftest import DEADLINE, USER, openai_client, warm_up

# How the SDK surfaces a transport fault mid-stream differs within the supported
# range: the raw transport error in 2.0, the SDK's own APIConnectionError /
# APITimeoutError (caused by that error) later; and the transport is httpx up
# to 2.x, httpx2 in 3.x.
try:
    import httpx2

    _TRANSPORTS: tuple[Any, ...] = (httpx, httpx2)
except ImportError:
    _TRANSPORTS = (httpx,)
READ_ERRORS: tuple[type[Exception], ...] = tuple(t.ReadError for t in _TRANSPORTS)
READ_TIMEOUTS: tuple[type[Exception], ...] = tuple(t.ReadTimeout for t in _TRANSPORTS)
MID_STREAM_RESET = (*READ_ERRORS, openai.APIConnectionError)
MID_STREAM_TIMEOUT = (*READ_TIMEOUTS, openai.APITimeoutError)


def assert_transport_error(exc: BaseException, transport: tuple[type[BaseException], ...]) -> None:
    """`exc` is the transport's error, or the SDK's wrapper of exactly that error."""
    if isinstance(exc, openai.APIConnectionError):
        assert isinstance(exc.__cause__, transport), repr(exc.__cause__)
    else:
        assert isinstance(exc, transport), repr(exc)


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}

# The stream helper of SDK 2.0 parses tool arguments only of strict tools (and
# refuses others); later releases take both.
STRICT_WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "strict": True,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


async def test_generate() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server([Reply(text="Hello there")]) as server:
            completion = await openai_client(server).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi, how are you?"}]
            )
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o-mini"  # the request's model by default
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.message.content == "Hello there"
    assert choice.message.tool_calls is None and choice.finish_reason == "stop"
    assert completion.usage is not None
    usage = completion.usage
    # prompt: the words of the messages; completion: the chunks a stream would send
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (4, 2, 6)
    assert completion._request_id is not None and completion._request_id.startswith("req_")
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.headers["content-type"] == "application/json"


async def test_stream_with_usage() -> None:
    reply = Reply(
        chunks=["Hel", "lo", " world"],
        usage=FakeUsage(prompt_tokens=7, completion_tokens=3),
        model="gpt-fake-9",
    )
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server([reply]) as server:
            stream = await openai_client(server).chat.completions.create(
                model="gpt-test", messages=USER, stream=True, stream_options={"include_usage": True}
            )
            chunks = [chunk async for chunk in stream]
            assert server.requests[0].json["stream"] is True  # type: ignore[index]
    text = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert text == ["Hel", "lo", " world"]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (7, 3)
    assert all(c.usage is None for c in chunks[:-1])
    assert {c.model for c in chunks} == {"gpt-fake-9"}  # the reply's model wins


async def test_the_stream_helper_accumulates_the_final_completion() -> None:
    reply = Reply(
        text="Let me check.",
        tool_calls=[FakeToolCall(name="get_weather", arguments={"city": "Paris"})],
    )
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server([reply]) as server:
            helper = openai_client(server).chat.completions.stream(
                model="gpt-test",
                messages=USER,
                tools=[STRICT_WEATHER],  # type: ignore[list-item]
            )
            async with helper as stream:
                deltas = [event.delta async for event in stream if event.type == "content.delta"]
                final = await stream.get_final_completion()
    assert "".join(deltas) == "Let me check."
    message = final.choices[0].message
    assert message.content == "Let me check."
    assert message.tool_calls is not None
    (call,) = message.tool_calls
    assert (call.id, call.function.name) == ("call_0", "get_weather")  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert final.choices[0].finish_reason == "tool_calls"


async def test_tool_calls_without_streaming() -> None:
    calls = [
        FakeToolCall(name="get_weather", arguments={"city": "Paris"}, id="call_abc"),
        FakeToolCall(name="get_weather", arguments='{"city": '),  # malformed, sent verbatim
    ]
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server([Reply(tool_calls=calls)]) as server:
            completion = await openai_client(server).chat.completions.create(
                model="gpt-test",
                messages=USER,
                tools=[WEATHER],  # type: ignore[list-item]
            )
            assert server.requests[0].json["tools"] == [WEATHER]  # type: ignore[index]
    message = completion.choices[0].message
    assert message.content is None and completion.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None
    ids = [call.id for call in message.tool_calls]
    arguments = [call.function.arguments for call in message.tool_calls]  # type: ignore[union-attr]
    assert ids == ["call_abc", "call_1"]
    assert arguments == ['{"city": "Paris"}', '{"city": ']


async def test_streamed_tool_calls_reassemble_by_index() -> None:
    calls = [FakeToolCall(name="a", arguments={"n": 1}), FakeToolCall(name="b", arguments={"n": 2})]
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server(
            [Reply(tool_calls=calls, finish_reason="length")]
        ) as server:
            stream = await openai_client(server).chat.completions.create(
                model="gpt-test", messages=USER, stream=True
            )
            names: dict[int, str] = {}
            arguments: dict[int, str] = {}
            finish = None
            async for chunk in stream:
                choice = chunk.choices[0]
                finish = choice.finish_reason or finish
                for delta in choice.delta.tool_calls or []:
                    if delta.function and delta.function.name:
                        names[delta.index] = delta.function.name
                    if delta.function and delta.function.arguments:
                        arguments[delta.index] = (
                            arguments.get(delta.index, "") + delta.function.arguments
                        )
    assert names == {0: "a", 1: "b"}
    assert {i: json.loads(a) for i, a in arguments.items()} == {0: {"n": 1}, 1: {"n": 2}}
    assert finish == "length"  # a given finish_reason wins over the default


async def test_embeddings_and_models() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server() as server:
            client = openai_client(server)
            base64 = await client.embeddings.create(
                model="text-embedding-3-small", input=["a", "b"]
            )
            floats = await client.embeddings.create(model="e", input="a", encoding_format="float")
            models = [model.id async for model in client.models.list()]
    assert server.requests[0].json["encoding_format"] == "base64"  # type: ignore[index]
    assert len(base64.data) == 2 and len(base64.data[0].embedding) == 8
    assert base64.data[0].embedding == floats.data[0].embedding  # same vector either way
    assert base64.data[0].embedding != base64.data[1].embedding
    assert "gpt-test" in models


async def test_a_wrong_api_key_is_an_authentication_error() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server(api_key="sk-right") as server:
            with pytest.raises(openai.AuthenticationError) as caught:
                await openai_client(server, api_key="sk-wrong").models.list()
            completion = await openai_client(server, api_key="sk-right").chat.completions.create(
                model="gpt-test", messages=USER
            )
    assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"
    assert completion.choices[0].message.content == "echo: hello there"


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_status_faults(code: int, error: type[openai.APIStatusError], stream: bool) -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server([Fault.status(code, "nope", retry_after=2)]) as server:
            with pytest.raises(error) as caught:
                await openai_client(server).chat.completions.create(
                    model="gpt-test", messages=USER, stream=stream
                )
    assert caught.value.status_code == code
    # "Error code: N - nope" from SDK 2.x's later releases; 2.0 puts the whole
    # error object there (the adapter reads `body["message"]`, which both have)
    assert caught.value.message.startswith(f"Error code: {code} - ")
    assert "nope" in caught.value.message
    assert caught.value.response.headers["retry-after"] == "2"
    # the SDK hands over the `error` object of OpenAI's error body
    assert isinstance(caught.value.body, dict)
    assert set(caught.value.body) == {"message", "type", "code", "param"}
    assert caught.value.body["message"] == "nope"
    assert caught.value.type == ("server_error" if code >= 500 else caught.value.body["type"])


async def test_reset_is_a_connection_error() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server([Fault.reset(), Fault.reset(after_chunks=2)]) as server:
            client = openai_client(server)
            with pytest.raises(openai.APIConnectionError):
                await client.chat.completions.create(model="gpt-test", messages=USER)
            stream = await client.chat.completions.create(
                model="gpt-test", messages=USER, stream=True
            )
            got: list[str | None] = []
            with pytest.raises(MID_STREAM_RESET) as caught:
                async for chunk in stream:
                    got.append(chunk.choices[0].delta.content)
            assert_transport_error(caught.value, READ_ERRORS)
            await server.wait_for_connections(0)
    assert len(got) == 3 and got[0] == ""  # the role frame, then two pieces


async def test_malformed_is_a_json_error_not_an_sdk_error() -> None:
    # The SDK lets the JSON decoder's error through, stream or not.
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server(
            [Fault.malformed(), Fault.malformed(after_chunks=1)]
        ) as server:
            client = openai_client(server)
            with pytest.raises(json.JSONDecodeError):
                await client.chat.completions.create(model="gpt-test", messages=USER)
            stream = await client.chat.completions.create(
                model="gpt-test", messages=USER, stream=True
            )
            with pytest.raises(json.JSONDecodeError):
                async for _ in stream:
                    pass


async def test_truncation() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server(
            [Fault.truncate(), Fault.truncate(after_chunks=2)]
        ) as server:
            client = openai_client(server)
            with pytest.raises(openai.APIConnectionError):  # a body shorter than Content-Length
                await client.chat.completions.create(model="gpt-test", messages=USER)
            stream = await client.chat.completions.create(
                model="gpt-test", messages=USER, stream=True
            )
            chunks = [chunk async for chunk in stream]
    # The SDK does not require `[DONE]`: a stream cut short just ends. Only the
    # missing finish_reason tells the caller.
    assert len(chunks) == 3  # the role frame, then two pieces
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks)


async def test_a_mid_stream_error_is_an_api_error() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server(
            [Fault.sse_error(after_chunks=1, message="busy")]
        ) as server:
            stream = await openai_client(server).chat.completions.create(
                model="gpt-test", messages=USER, stream=True
            )
            with pytest.raises(openai.APIError) as caught:
                async for _ in stream:
                    pass
    assert not isinstance(caught.value, openai.APIStatusError)  # the HTTP status was 200
    assert caught.value.message == "busy"


async def test_a_stall_is_a_timeout_when_the_client_has_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE + 100):
        async with open_fake_openai_server([Fault.stall(60, after_chunks=1)]) as server:
            client = openai.AsyncOpenAI(
                base_url=server.base_url, api_key="k", max_retries=0, timeout=5
            )
            await warm_up(client, autojump_clock)
            stream = await client.chat.completions.create(
                model="gpt-test", messages=USER, stream=True
            )
            start = trio.current_time()
            with pytest.raises(MID_STREAM_TIMEOUT) as caught:
                async for _ in stream:
                    pass
            assert_transport_error(caught.value, READ_TIMEOUTS)
            assert trio.current_time() - start == pytest.approx(5)
            await server.wait_for_connections(0)


async def test_closing_a_stream_early_closes_the_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    reply = Reply(text="word " * 100, token_latency=10)
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server([reply]) as server:
            client = openai_client(server)
            await warm_up(client, autojump_clock)
            stream = await client.chat.completions.create(
                model="gpt-test", messages=USER, stream=True
            )
            async for _ in stream:
                break
            assert server.open_connections == 1
            start = trio.current_time()
            await stream.close()
            await server.wait_for_connections(0)
            assert trio.current_time() - start < 1  # seen at once, not at the next write
            assert (server.active_requests, server.closed_connections) == (0, 1)


async def test_concurrent_streams_use_one_connection_each(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def slow_echo(request: RecordedRequest) -> Reply:
        # the clock stands still until all five wait on their ttft: they overlap
        return Reply(text=last_user_text(request), ttft=1)

    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server(slow_echo) as server:
            client = openai_client(server)
            await warm_up(client, autojump_clock)
            texts: list[str] = []

            async def one(i: int) -> None:
                stream = await client.chat.completions.create(
                    model="gpt-test", messages=[{"role": "user", "content": f"n{i}"}], stream=True
                )
                texts.append("".join([c.choices[0].delta.content or "" async for c in stream]))

            start = trio.current_time()
            async with trio.open_nursery() as nursery:
                for i in range(5):
                    nursery.start_soon(one, i)
            assert trio.current_time() - start == pytest.approx(1)  # side by side, not in turn
            assert sorted(texts) == [f"n{i}" for i in range(5)]
            # the idle connection of the model list, and four more; all kept in the pool
            assert server.total_connections == server.open_connections == 5
            await client.close()
            await server.wait_for_connections(0)
