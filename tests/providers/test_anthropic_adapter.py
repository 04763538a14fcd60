"""AnthropicAdapter on its own: the real SDK against the fake Anthropic server.

These drive the adapter directly (no runtime, no retries, no actor timeouts),
so every error seen here is the adapter's own mapping of what the SDK raised.
Tests with latencies or stalls run on trio's MockClock (`autojump_clock`): the
server lives in the same trio run and the SDK's timeouts are anyio's, which
under trio are trio cancel scopes, so virtual time drives both ends.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from functools import partial
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors._providers._accumulate import Accumulator
from abstractcore_actors._providers._adapter import ACCEPTED, ProviderConfig
from abstractcore_actors._providers._anthropic import AnthropicAdapter, messages_to_wire
from abstractcore_actors.errors import (
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    InvalidResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from abstractcore_actors.testing import (
    FakeAnthropicServer,
    FakeToolCall,
    FakeUsage,
    Fault,
    Reply,
    open_fake_anthropic_server,
)
from abstractcore_actors.types import (
    Chunk,
    Image,
    Message,
    Request,
    ToolCall,
    ToolResult,
    ToolSpec,
    Usage,
)

try:  # the SDK's transport: httpx2 from anthropic 2.x, httpx before
    import httpx2
except ImportError:
    import httpx as httpx2  # type: ignore[no-redef]

KEY = "sk-ant-secret-123456789"
WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
HI = Request(messages=(Message.user("Hi"),))


def config(base_url: str, **overrides: Any) -> ProviderConfig:
    settings: dict[str, Any] = {
        "provider": "anthropic",
        "model": "claude-test",
        "api_key": KEY,
        "base_url": base_url,
        "read_timeout": 5.0,
        "connect_timeout": 5.0,
        **overrides,
    }
    return ProviderConfig(**settings)


@pytest.fixture
async def server() -> AsyncIterator[FakeAnthropicServer]:
    async with open_fake_anthropic_server() as fake:
        yield fake


@pytest.fixture
async def make_adapter(
    server: FakeAnthropicServer,
) -> AsyncIterator[Callable[..., AnthropicAdapter]]:
    made: list[AnthropicAdapter] = []

    def make(**overrides: Any) -> AnthropicAdapter:
        base_url = overrides.pop("base_url", server.base_url)
        made.append(AnthropicAdapter(config(base_url, **overrides)))
        return made[-1]

    yield make
    for adapter in made:
        await adapter.aclose()


@pytest.fixture
def adapter(make_adapter: Callable[..., AnthropicAdapter]) -> AnthropicAdapter:
    return make_adapter()


async def chunks_of(adapter: AnthropicAdapter, request: Request) -> AsyncIterator[Chunk]:
    """The stream's chunks, checking that ACCEPTED came first, once."""
    async with aclosing(adapter.stream(request)) as stream:
        assert await anext(stream) is ACCEPTED
        async for item in stream:
            assert isinstance(item, Chunk)
            yield item


async def collect(adapter: AnthropicAdapter, request: Request = HI) -> list[Chunk]:
    return [chunk async for chunk in chunks_of(adapter, request)]


def sent_body(server: FakeAnthropicServer) -> dict[str, Any]:
    body = server.requests[-1].json
    assert isinstance(body, dict)
    return body


# --- answers -------------------------------------------------------------------------


async def test_generate(adapter: AnthropicAdapter, server: FakeAnthropicServer) -> None:
    server.push(Reply(text="Bonjour !", usage=FakeUsage(prompt_tokens=9, completion_tokens=3)))
    with trio.fail_after(5):
        reply = await adapter.generate(HI)
    assert reply.content == "Bonjour !"
    assert reply.finish_reason == "stop"
    assert reply.usage == Usage(prompt_tokens=9, completion_tokens=3)
    assert reply.model == "claude-test"
    assert reply.tool_calls == ()
    assert server.requests[-1].path == "/v1/messages"


async def test_stream_text_and_final_chunk(
    adapter: AnthropicAdapter, server: FakeAnthropicServer
) -> None:
    pieces = ["Hel", "lo", ", wor", "ld!"]
    server.push(Reply(chunks=pieces, usage=FakeUsage(prompt_tokens=4, completion_tokens=7)))
    with trio.fail_after(5):
        chunks = await collect(adapter)
    assert [c.text for c in chunks if c.text] == pieces
    assert [c.is_final for c in chunks] == [False] * len(pieces) + [True]
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage == Usage(prompt_tokens=4, completion_tokens=7)
    assert sent_body(server)["stream"] is True


async def test_stream_reports_length_as_finish_reason(
    adapter: AnthropicAdapter, server: FakeAnthropicServer
) -> None:
    server.push(
        Reply(text="cut", finish_reason="length"), Reply(text="cut", finish_reason="length")
    )
    with trio.fail_after(5):
        chunks = await collect(adapter)
        reply = await adapter.generate(HI)
    assert chunks[-1].finish_reason == reply.finish_reason == "length"


@pytest.mark.parametrize("text", ["Let me check.", ""])
async def test_tool_calls_in_both_modes(
    adapter: AnthropicAdapter, server: FakeAnthropicServer, text: str
) -> None:
    calls = (
        FakeToolCall(name="get_weather", arguments={"city": "Oslo", "days": 2}),
        FakeToolCall(name="get_weather", arguments={"city": "Lima"}, id="toolu_lima"),
    )
    server.push(Reply(text=text, tool_calls=calls), Reply(text=text, tool_calls=calls))
    request = Request(messages=(Message.user("Weather?"),), tools=(WEATHER,))
    with trio.fail_after(5):
        reply = await adapter.generate(request)
        chunks = await collect(adapter, request)
    assert reply.content == text
    assert reply.finish_reason == "tool_calls"
    assert reply.tool_calls == (
        ToolCall(
            id="toolu_0",
            name="get_weather",
            arguments={"city": "Oslo", "days": 2},
            raw_arguments='{"city": "Oslo", "days": 2}',
        ),
        ToolCall(
            id="toolu_lima",
            name="get_weather",
            arguments={"city": "Lima"},
            raw_arguments='{"city": "Lima"}',
        ),
    )
    # Tool calls are numbered among tool blocks, whether or not a text block came first.
    indices = {d.index for c in chunks for d in c.tool_calls}
    assert indices == {0, 1}
    folded = Accumulator()
    for chunk in chunks:
        folded.add(chunk)
    assert folded.response(model=reply.model) == reply


# --- what goes on the wire -----------------------------------------------------------


async def test_request_in_anthropic_shape(
    make_adapter: Callable[..., AnthropicAdapter], server: FakeAnthropicServer
) -> None:
    adapter = make_adapter(options={"max_tokens": 77})
    history = (
        Message.system("Be brief."),
        Message.user("Weather in Paris and Rome?"),
        Message.assistant(
            "Checking.",
            tool_calls=[
                ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Paris"}),
                ToolCall(id="toolu_2", name="get_weather", arguments={"city": "Rome"}),
            ],
        ),
        Message.tool(ToolResult(call_id="toolu_1", name="get_weather", content="sunny")),
        Message.tool(ToolResult(call_id="toolu_2", name="get_weather", content="", error="boom")),
        Message.user("And tomorrow?"),
        Message.system("Answer in French."),
    )
    request = Request(
        messages=history,
        tools=(WEATHER,),
        temperature=0.3,
        top_p=0.9,
        stop=("END",),
    )
    with trio.fail_after(5):
        await adapter.generate(request)
    sent = server.requests[-1]
    assert KEY in (sent.headers.get("x-api-key"), sent.headers.get("authorization", "")[7:])
    body = sent_body(server)
    assert body["model"] == "claude-test"
    assert body["system"] == "Be brief.\n\nAnswer in French."
    assert body["max_tokens"] == 77
    assert (body["temperature"], body["top_p"], body["stop_sequences"]) == (0.3, 0.9, ["END"])
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert "tool_choice" not in body
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                },
            ],
        },
        {
            "role": "user",  # both results and the next question: one turn
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": "error: boom",
                    "is_error": True,
                },
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
    ]


async def test_images_go_as_image_blocks_before_the_text(
    adapter: AnthropicAdapter, server: FakeAnthropicServer
) -> None:
    png = Image.from_bytes(b"\x89PNG\r\n\x1a\n", "image/png")
    linked = Image("https://example.com/cat.jpg", detail="low")  # detail: OpenAI's only
    with trio.fail_after(5):
        await adapter.generate(Request(messages=(Message.user("Same cat?", [png, linked]),)))
    assert sent_body(server)["messages"] == [
        {
            "role": "user",
            "content": [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                {"type": "text", "text": "Same cat?"},
            ],
        }
    ]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ("get_weather", {"type": "tool", "name": "get_weather"}),
    ],
)
async def test_tool_choice(
    adapter: AnthropicAdapter, server: FakeAnthropicServer, choice: str, wire: dict[str, str]
) -> None:
    with trio.fail_after(5):
        await adapter.generate(
            Request(messages=(Message.user("Hi"),), tools=(WEATHER,), tool_choice=choice)
        )
    assert sent_body(server)["tool_choice"] == wire


async def test_defaults_and_extra_goes_last(
    adapter: AnthropicAdapter, server: FakeAnthropicServer
) -> None:
    with trio.fail_after(5):
        await adapter.generate(HI)
        body = sent_body(server)
        assert body["max_tokens"] == 1024
        assert not {"system", "tools", "temperature", "top_p", "stop_sequences"} & body.keys()
        await adapter.generate(
            Request(
                messages=HI.messages,
                max_tokens=10,
                temperature=0.5,
                extra={"max_tokens": 20, "temperature": 0.1, "metadata": {"user_id": "u1"}},
            )
        )
    body = sent_body(server)
    assert (body["max_tokens"], body["temperature"]) == (20, 0.1)
    assert body["metadata"] == {"user_id": "u1"}


_ROLE_MESSAGES = st.one_of(
    st.builds(Message.system, st.text(max_size=5)),
    st.builds(Message.user, st.text(max_size=5)),
    st.builds(
        Message.assistant,
        st.text(max_size=5),
        st.lists(st.builds(ToolCall, id=st.just("toolu_x"), name=st.just("f")), max_size=2),
    ),
    st.builds(
        Message.tool,
        st.builds(ToolResult, call_id=st.just("toolu_x"), name=st.just("f"), content=st.text()),
    ),
)


@given(st.lists(_ROLE_MESSAGES, max_size=12))
def test_turns_alternate_and_keep_every_block_in_order(messages: list[Message]) -> None:
    system, turns = messages_to_wire(tuple(messages))
    roles = [turn["role"] for turn in turns]
    assert all(a != b for a, b in itertools.pairwise(roles))
    assert all(turn["content"] for turn in turns)
    sent = [block for turn in turns for block in turn["content"]]
    expected = []
    for m in messages:
        if m.role == "tool":
            expected.append(("tool_result", m.content))
            continue
        if m.role != "system" and m.content:
            expected.append(("text", m.content))
        expected.extend(("tool_use", call.name) for call in m.tool_calls)
    got = [(b["type"], b.get("text", b.get("content", b.get("name")))) for b in sent]
    assert got == expected
    assert system == ("\n\n".join(m.content for m in messages if m.role == "system") or None)


# --- failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.status(401), AuthenticationError),
        (Fault.status(400), BadRequest),
        (Fault.status(429, retry_after=3), RateLimited),
        (Fault.status(500), ProviderUnavailable),
        (Fault.status(503), ProviderUnavailable),
        (Fault.status(529), ProviderUnavailable),
        (Fault.reset(after_chunks=2), ProviderUnavailable),
        (Fault.reset(), ProviderUnavailable),
        (Fault.malformed(after_chunks=1), InvalidResponse),
        (Fault.truncate(after_chunks=2), InvalidResponse),
        (Fault.sse_error(after_chunks=1), ProviderUnavailable),
    ],
    ids=lambda v: getattr(v, "kind", None) or getattr(v, "__name__", ""),
)
@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "generate"])
async def test_faults_give_typed_errors(
    adapter: AnthropicAdapter,
    server: FakeAnthropicServer,
    fault: Fault,
    error: type[ProviderError],
    streaming: bool,
) -> None:
    server.push(fault)
    got: list[Chunk] = []
    with trio.fail_after(5), pytest.raises(error) as info:
        if streaming:
            async for chunk in chunks_of(adapter, HI):
                got.append(chunk)
        else:
            await adapter.generate(HI)
    err = info.value
    assert type(err) is error
    assert "anthropic (claude-test)" in str(err)
    assert KEY not in str(err)
    if fault.kind != "truncate":  # the SDK just stops iterating; the rest are its errors
        assert isinstance(err.__cause__, Exception)  # mapped once, at the boundary
    assert not any(chunk.is_final for chunk in got)
    if fault.kind == "status":
        assert err.status_code == fault.status_code
    if isinstance(err, RateLimited):
        assert err.retry_after == pytest.approx(3)
    if streaming and fault.after_chunks:
        assert "".join(chunk.text for chunk in got)  # text arrived before the fault


def _wrapped(wrapper: type[Exception], cause: Exception) -> Exception:
    """`cause` as SDK 2.17+ raises it mid-stream: inside the SDK's wrapper."""
    request = httpx2.Request("POST", "http://127.0.0.1/v1/messages")
    exc = wrapper(request=request)
    exc.__cause__ = cause
    return exc


def _every_sdk_shape() -> list[tuple[Exception, type[ProviderError]]]:
    import anthropic

    return [
        (httpx2.ReadError("reset"), ProviderUnavailable),  # SDK <= 2.16, mid-stream
        (_wrapped(anthropic.APIConnectionError, httpx2.ReadError("reset")), ProviderUnavailable),
        (httpx2.ReadTimeout("stalled"), ProviderTimeout),
        (_wrapped(anthropic.APITimeoutError, httpx2.ReadTimeout("stalled")), ProviderTimeout),
    ]


@pytest.mark.parametrize(
    ("raised", "error"),
    _every_sdk_shape(),
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else "",
)
async def test_every_shape_the_sdk_has_used_maps_to_one_error(
    adapter: AnthropicAdapter, raised: Exception, error: type[ProviderError]
) -> None:
    # The fake-server tests above meet only the installed SDK's shape; this
    # pins the mapping of every shape used within the supported range.
    mapped = adapter._map(raised)
    assert type(mapped) is error
    assert "anthropic (claude-test)" in str(mapped)
    assert KEY not in str(mapped)


async def test_error_event_carries_the_vendor_message(
    adapter: AnthropicAdapter, server: FakeAnthropicServer
) -> None:
    server.push(Fault.sse_error(after_chunks=1, message="Overloaded, try later"))
    with trio.fail_after(5), pytest.raises(ProviderUnavailable) as info:
        await collect(adapter)
    assert info.value.status_code == 529
    assert "Overloaded, try later" in str(info.value)


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "generate"])
@pytest.mark.parametrize("after_chunks", [0, 2])
async def test_stall_past_read_timeout(
    make_adapter: Callable[..., AnthropicAdapter],
    server: FakeAnthropicServer,
    autojump_clock: trio.testing.MockClock,
    streaming: bool,
    after_chunks: int,
) -> None:
    adapter = make_adapter(read_timeout=0.5)
    server.push(Fault.stall(60, after_chunks=after_chunks))
    with trio.fail_after(5), pytest.raises(ProviderTimeout) as info:
        if streaming:
            await collect(adapter)
        else:
            await adapter.generate(HI)
    assert "read_timeout=0.5s" in str(info.value)
    assert trio.current_time() < 2  # the read timeout fired, not the stall's end


async def test_connection_refused(make_adapter: Callable[..., AnthropicAdapter]) -> None:
    sock = trio.socket.socket()
    await sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    adapter = make_adapter(base_url=f"http://127.0.0.1:{port}")
    with trio.fail_after(5):
        with pytest.raises(ProviderUnavailable, match="ConnectError"):
            await adapter.generate(HI)
        with pytest.raises(ProviderUnavailable, match="ConnectError"):
            await collect(adapter)


async def test_the_key_never_shows(adapter: AnthropicAdapter, server: FakeAnthropicServer) -> None:
    server.push(Fault.status(401, message=f"invalid x-api-key {KEY}"))
    with trio.fail_after(5), pytest.raises(AuthenticationError) as info:
        await adapter.generate(HI)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert "[redacted]" in str(info.value)
    assert KEY not in repr(adapter)
    assert KEY not in repr(adapter.config)


def test_no_key_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK would otherwise read the process environment behind our back.
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with pytest.raises(ConfigurationError, match="API key"):
        AnthropicAdapter(config("http://127.0.0.1:9", api_key=None))
    keyed_by_header = AnthropicAdapter(
        config("http://127.0.0.1:9", api_key=None, headers={"X-Api-Key": KEY})
    )
    assert keyed_by_header.config.api_key is None


# --- events the fake server cannot send: an in-process transport --------------------


def _sse(*events: tuple[str, str]) -> bytes:
    return b"".join(f"event: {name}\ndata: {data}\n\n".encode() for name, data in events)


_START = json.dumps(
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        },
    }
)
_TEXT_START = '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'
_STOP = '{"type":"message_stop"}'


@asynccontextmanager
async def sse_server(body: bytes) -> AsyncIterator[str]:
    """A real loopback HTTP server that answers every request with `body` as an SSE
    stream — for events the fake Anthropic server never sends (bad ones, new ones)."""

    async def answer(stream: trio.SocketStream) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        found = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
        length = int(found.group(1)) if found else 0
        while len(rest) < length:
            rest += await stream.receive_some(65536)
        status = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        )
        await stream.send_all(status + body)
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, answer, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        yield f"http://127.0.0.1:{port}"
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("error_type", "error"),
    [
        ("rate_limit_error", RateLimited),
        ("api_error", ProviderUnavailable),
        ("invalid_request_error", BadRequest),
        ("something_new", ProviderUnavailable),
    ],
)
async def test_error_events_by_type(
    make_adapter: Callable[..., AnthropicAdapter], error_type: str, error: type[ProviderError]
) -> None:
    payload = json.dumps({"type": "error", "error": {"type": error_type, "message": "nope"}})
    async with sse_server(_sse(("message_start", _START), ("error", payload))) as url:
        with trio.fail_after(5), pytest.raises(error, match="nope"):
            await collect(make_adapter(base_url=url))


@pytest.mark.parametrize(
    "event",
    [
        '{"type":"content_block_delta","index":0}',  # no delta
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":5}}',
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}',
        '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":"x"}}',
    ],
)
async def test_malformed_events(make_adapter: Callable[..., AnthropicAdapter], event: str) -> None:
    name = json.loads(event)["type"]
    body = _sse(("message_start", _START), ("content_block_start", _TEXT_START), (name, event))
    async with sse_server(body) as url:
        with trio.fail_after(5), pytest.raises(InvalidResponse, match=f"malformed {name} event"):
            await collect(make_adapter(base_url=url))


async def test_unknown_events_are_ignored(make_adapter: Callable[..., AnthropicAdapter]) -> None:
    delta = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok"}}'
    thinking = (
        '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}'
    )
    body = _sse(
        ("message_start", _START),
        ("content_block_start", _TEXT_START),
        ("brand_new_event", '{"type":"brand_new_event","x":1}'),
        ("content_block_delta", thinking),
        ("content_block_delta", delta),
        ("message_stop", _STOP),
    )
    async with sse_server(body) as url:
        with trio.fail_after(5):
            chunks = await collect(make_adapter(base_url=url))
    assert [c.text for c in chunks] == ["ok", ""]
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage == Usage(prompt_tokens=3, completion_tokens=1)


# --- closing -------------------------------------------------------------------------


async def test_closing_the_stream_early_closes_the_connection(
    adapter: AnthropicAdapter, server: FakeAnthropicServer, autojump_clock: trio.testing.MockClock
) -> None:
    server.push(Reply(text=" ".join(["word"] * 100), token_latency=0.1))
    stream = adapter.stream(HI)
    with trio.fail_after(5):
        assert await anext(stream) is ACCEPTED
        got = [await anext(stream), await anext(stream)]
        assert server.open_connections == 1
        await stream.aclose()
        await server.wait_for_connections(0)
    assert "".join(c.text for c in got) == "word word"
    assert trio.current_time() < 5  # well before the 100 words would have ended


async def test_cancelling_a_stream_closes_the_connection(
    adapter: AnthropicAdapter, server: FakeAnthropicServer, autojump_clock: trio.testing.MockClock
) -> None:
    server.push(Reply(text=" ".join(["word"] * 100), token_latency=0.1))
    got: list[Chunk] = []
    with trio.move_on_after(0.35) as scope:
        async for chunk in chunks_of(adapter, HI):
            got.append(chunk)
    assert scope.cancelled_caught
    assert 0 < len(got) < 100
    with trio.fail_after(5):
        await server.wait_for_connections(0)


async def test_aclose_closes_pooled_connections(
    adapter: AnthropicAdapter, server: FakeAnthropicServer
) -> None:
    with trio.fail_after(5):
        await adapter.generate(HI)
        await collect(adapter)
        assert server.open_connections == 1  # one keep-alive connection, reused
        await adapter.aclose()
        await server.wait_for_connections(0)
