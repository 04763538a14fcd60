"""`llm.embed`: vectors over real HTTP from the fake OpenAI server, through the
openai SDK (provider "openai") and through httpx ("openai-compatible"); the
actor's policies, events and cancellation; bad input; Anthropic's refusal."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    LLM,
    BadRequest,
    ProviderUnavailable,
    Runtime,
    ValidationError,
)
from abstractcore_actors._wire.openai_embeddings import (
    decode_vector,
    encode_base64,
    response_from_wire,
)
from abstractcore_actors.errors import InvalidResponse, UnsupportedOperation
from abstractcore_actors.events import (
    CallCancelled,
    EmbeddingCompleted,
    EmbeddingStarted,
    ErrorOccurred,
    Event,
    RetryAttempted,
)
from abstractcore_actors.testing import FakeAnthropicServer, FakeOpenAIServer, Fault
from abstractcore_actors.types import EmbeddingResponse

from .conftest import API_KEY


def expected(text: str, size: int = 8) -> tuple[float, ...]:
    """The fake server's vector for `text` (exact in float32)."""
    digest = hashlib.sha256(text.encode()).digest()
    return tuple((byte - 128) / 128 for byte in digest[:size])


def drain(sub: object) -> list[Event]:
    out = []
    while True:
        try:
            out.append(sub.receive_nowait())  # type: ignore[attr-defined]
        except trio.WouldBlock:
            return out


async def test_vectors_in_input_order_with_usage_and_ids(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_openai_llm()
    with trio.fail_after(10):
        response = await llm.embed(["the cat", "sat on", "the mat today"])
    assert isinstance(response, EmbeddingResponse)
    assert response.vectors == (expected("the cat"), expected("sat on"), expected("the mat today"))
    assert response.dimensions == 8
    assert response.usage.prompt_tokens == 7  # the fake counts words
    assert response.provider == llm.provider
    assert response.model == "gpt-test"
    assert response.request_id.startswith("emb_")
    sent = openai_server.requests[-1]
    assert sent.path == "/v1/embeddings"
    assert isinstance(sent.json, dict)
    assert sent.json["input"] == ["the cat", "sat on", "the mat today"]
    assert sent.json["model"] == "gpt-test"
    # both the SDK (by default) and our httpx adapter ask for compact base64
    assert sent.json["encoding_format"] == "base64"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"


async def test_a_single_string_and_dimensions(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_openai_llm()
    with trio.fail_after(10):
        one = await llm.embed("hello", dimensions=4)
    assert one.vectors == (expected("hello", 4),)
    assert isinstance(openai_server.requests[-1].json, dict)
    assert openai_server.requests[-1].json["dimensions"] == 4


async def test_the_float_format_for_servers_without_base64(
    rt: Runtime, openai_server: FakeOpenAIServer
) -> None:
    llm = rt.create_llm(
        "openai-compatible", "e", base_url=openai_server.base_url, embedding_format="float"
    )
    with trio.fail_after(10):
        response = await llm.embed(["a", "b"])
    assert response.vectors == (expected("a"), expected("b"))
    assert isinstance(openai_server.requests[-1].json, dict)
    assert openai_server.requests[-1].json["encoding_format"] == "float"
    with pytest.raises(ValidationError, match="embedding_format must be 'base64' or 'float'"):
        rt.create_llm("ollama", "e", embedding_format="binary")


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ([], "nothing to embed"),
        ("", r"texts\[0\] is empty"),
        (["ok", 3], r"texts\[1\] is a int, not a string"),
        (b"bytes", "a string or a list of strings, not bytes"),
        (["x"] * 2049, "too many texts in one call .2049; at most 2048.: split them"),
    ],
)
async def test_bad_input_is_a_validation_error(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    texts: object,
    message: str,
) -> None:
    llm = make_openai_llm()
    with pytest.raises(ValidationError, match=message):
        await llm.embed(texts)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="dimensions must be a positive integer"):
        await llm.embed("x", dimensions=0)
    with pytest.raises(ValidationError, match="timeout must be a number of seconds > 0"):
        await llm.embed("x", timeout=0)
    assert openai_server.requests == []  # nothing reached the wire


async def test_retries_and_events(
    rt: Runtime,
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push_embedding(Fault.status(503))
    llm = make_openai_llm()
    async with rt.events.subscribe() as events:
        response = await llm.embed(["a", "b"])
        got = drain(events)
    assert response.vectors == (expected("a"), expected("b"))
    assert [type(e) for e in got] == [EmbeddingStarted, RetryAttempted, EmbeddingCompleted]
    started, _, done = got
    assert isinstance(started, EmbeddingStarted) and started.inputs == 2
    assert isinstance(done, EmbeddingCompleted)
    assert (done.inputs, done.dimensions, done.prompt_tokens) == (2, 8, 2)
    assert {e.request_id for e in got} == {response.request_id}
    assert [e.seq for e in got] == [1, 2, 3]


async def test_a_failure_is_typed_and_reported(
    rt: Runtime,
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push_embedding(Fault.status(400, "bad model"), Fault.malformed())
    llm = make_openai_llm(max_retries=0)
    async with rt.events.subscribe() as events:
        with pytest.raises(BadRequest, match="bad model"):
            await llm.embed("a")
        with pytest.raises(InvalidResponse):
            await llm.embed("a")
        got = drain(events)
    errors = [e for e in got if isinstance(e, ErrorOccurred)]
    assert [(e.source, e.error_type) for e in errors] == [
        ("embedding", "BadRequest"),
        ("embedding", "InvalidResponse"),
    ]
    assert API_KEY not in repr(got)


async def test_a_timeout_cancels_the_call_and_closes_the_connection(
    rt: Runtime,
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push_embedding(Fault.stall(60))
    llm = make_openai_llm()
    async with rt.events.subscribe() as events:
        with trio.move_on_after(2) as scope:
            await llm.embed("slow")
        got = drain(events)
    assert scope.cancelled_caught
    with trio.fail_after(1):
        await openai_server.wait_for_connections(0)
    assert openai_server.open_connections == 0
    cancelled = [e for e in got if isinstance(e, CallCancelled)]
    assert [e.source for e in cancelled] == ["embedding"]
    # the actor is still healthy: the next call works
    with trio.fail_after(5):
        assert (await llm.embed("fast")).vectors == (expected("fast"),)


async def test_anthropic_has_no_embeddings(
    rt: Runtime, anthropic_server: FakeAnthropicServer
) -> None:
    llm = rt.create_llm(
        "anthropic", "claude-test", base_url=anthropic_server.base_url, api_key=API_KEY
    )
    with pytest.raises(UnsupportedOperation) as caught:
        await llm.embed("hello")
    message = str(caught.value)
    assert "Anthropic has no embeddings API" in message
    assert "OpenAI-compatible" in message and "local" in message
    assert isinstance(caught.value, BadRequest) and not caught.value.retryable
    assert anthropic_server.requests == []


def test_the_wire_decoder_checks_what_it_reads() -> None:
    vector = (0.5, -0.25, 1.0)
    assert decode_vector(encode_base64(vector)) == vector
    assert decode_vector([1, 2.5]) == (1.0, 2.5)
    with pytest.raises(ValueError, match="not valid base64"):
        decode_vector("***")
    with pytest.raises(ValueError, match="not float32"):
        decode_vector(base64.b64encode(b"abc").decode())
    with pytest.raises(ValueError, match="list of numbers or a base64"):
        decode_vector([True])
    packed = base64.b64encode(struct.pack("<2f", 1.0, 2.0)).decode()
    shuffled = {
        "data": [{"index": 1, "embedding": [3.0]}, {"index": 0, "embedding": packed}],
        "model": "m",
    }
    assert response_from_wire(shuffled, 2).vectors == ((1.0, 2.0), (3.0,))
    with pytest.raises(ValueError, match="expected 3 embeddings"):
        response_from_wire(shuffled, 3)


async def test_a_provider_down_is_unavailable(rt: Runtime) -> None:
    llm = rt.create_llm("openai-compatible", "e", base_url="http://127.0.0.1:9/v1", max_retries=0)
    with trio.fail_after(10), pytest.raises(ProviderUnavailable, match="cannot reach"):
        await llm.embed("x")
