"""`stream_upstream`: a non-streamed call asked for upstream as a stream.

Then cancelling the call closes the stream and the server stops generating
(llama.cpp computes a non-streamed answer to its end; see
tests/interop for the real server). The answer is the same as a whole one:
text, tool calls, finish reason and usage.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from abstractcore_actors import Runtime, ValidationError
from abstractcore_actors.testing import FakeOpenAIServer, FakeToolCall, FakeUsage, Reply

from .conftest import API_KEY, FAST


def _llm(rt: Runtime, server: FakeOpenAIServer, provider: str, **options: Any) -> Any:
    return rt.create_llm(
        provider, "m", base_url=server.base_url, api_key=API_KEY, **{**FAST, **options}
    )


@pytest.mark.parametrize(
    ("provider", "options", "streamed"),
    [
        ("llamacpp", {}, True),
        ("vllm", {}, True),
        ("ollama", {}, True),
        ("lmstudio", {}, True),
        ("openai-compatible", {}, False),
        ("openai-compatible", {"stream_upstream": True}, True),
        ("llamacpp", {"stream_upstream": False}, False),
    ],
)
async def test_whole_answers_are_the_same_asked_either_way(
    rt: Runtime,
    openai_server: FakeOpenAIServer,
    provider: str,
    options: dict[str, Any],
    streamed: bool,
) -> None:
    llm = _llm(rt, openai_server, provider, **options)
    openai_server.push(
        Reply(
            text="let me look",
            tool_calls=[FakeToolCall(name="lookup", arguments={"q": "trio"})],
            usage=FakeUsage(prompt_tokens=7, completion_tokens=5),
        )
    )
    reply = await llm.generate("find trio")
    (request,) = openai_server.requests
    assert bool(request.json.get("stream")) is streamed
    assert reply.content == "let me look"
    (call,) = reply.tool_calls
    assert (call.name, dict(call.arguments)) == ("lookup", {"q": "trio"})
    assert reply.finish_reason == "tool_calls"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (7, 5)
    assert not reply.usage.estimated


async def test_cancelling_a_call_asked_as_a_stream_closes_it_upstream(
    rt: Runtime, openai_server: FakeOpenAIServer, autojump_clock: trio.testing.MockClock
) -> None:
    llm = _llm(rt, openai_server, "llamacpp")
    openai_server.push(Reply(chunks=["tok "] * 100, token_latency=1.0))
    with trio.move_on_after(5.5) as scope:
        await llm.generate("a long answer")
    assert scope.cancelled_caught
    with trio.fail_after(1):  # the server sees its stream end at once
        await openai_server.wait_for_requests(0)
        await openai_server.wait_for_connections(0)
    assert openai_server.requests[0].json["stream"] is True


@pytest.mark.parametrize("extra", [{"n": 2}, {"logprobs": True}])
async def test_what_only_a_whole_answer_carries_is_asked_whole(
    rt: Runtime, openai_server: FakeOpenAIServer, extra: dict[str, Any]
) -> None:
    llm = _llm(rt, openai_server, "llamacpp")
    openai_server.push(Reply(text="hi"))
    await llm.generate("hello", **extra)
    assert "stream" not in openai_server.requests[0].json


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"stream_upstream": "yes"}, "stream_upstream must be true or false"),
        ({"structured": "xml"}, "structured must be one of 'json_schema'"),
    ],
)
async def test_bad_values_are_refused_at_create_llm(
    rt: Runtime, openai_server: FakeOpenAIServer, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValidationError, match=match):
        _llm(rt, openai_server, "llamacpp", **options)


@pytest.mark.parametrize("client", ["lean", "httpx"])
async def test_either_http_client_can_be_chosen_explicitly(
    rt: Runtime, openai_server: FakeOpenAIServer, client: str
) -> None:
    llm = _llm(rt, openai_server, "openai-compatible", http_client=client)
    openai_server.push(Reply(text="hello there"))
    assert (await llm.generate("hi")).content == "hello there"
    openai_server.push(Reply(chunks=["a", "b"]))
    async with llm.stream("hi") as stream:
        assert [c.text async for c in stream if c.text] == ["a", "b"]


async def test_an_unknown_http_client_is_refused(
    rt: Runtime, openai_server: FakeOpenAIServer
) -> None:
    with pytest.raises(ValidationError, match="http_client must be one of"):
        _llm(rt, openai_server, "openai-compatible", http_client="curl")
