"""/v1/chat/completions through the real openai SDK: JSON, SSE, tools, usage, race."""

from __future__ import annotations

import json

import openai
import trio

from abstractcore_actors.testing import FakeOpenAIServer, FakeToolCall, FakeUsage, Reply

from .conftest import DEADLINE, Routes

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


async def test_a_whole_answer_in_openai_shape(client: openai.AsyncOpenAI) -> None:
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hello there"}]
        )
    assert reply.object == "chat.completion"
    assert reply.id.startswith("chatcmpl-")
    assert reply.model == "gpt-test"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == "echo: hello there"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.total_tokens > 0


async def test_an_alias_answers_like_its_model(
    client: openai.AsyncOpenAI, upstream: FakeOpenAIServer
) -> None:
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.create(
            model="default", messages=[{"role": "user", "content": "hi"}]
        )
    assert reply.model == "default"
    assert isinstance(upstream.requests[-1].json, dict)
    assert upstream.requests[-1].json["model"] == "gpt-test"


async def test_request_fields_reach_upstream(
    client: openai.AsyncOpenAI, upstream: FakeOpenAIServer
) -> None:
    with trio.fail_after(DEADLINE):
        await client.chat.completions.create(
            model="gpt-test",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            ],
            temperature=0.5,
            top_p=0.9,
            max_completion_tokens=20,
            stop=["\n"],
            seed=7,
        )
    sent = upstream.requests[-1].json
    assert isinstance(sent, dict)
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.5, 0.9, 20)
    assert (sent["stop"], sent["seed"]) == (["\n"], 7)


async def test_streamed_text_is_upstreams_and_the_first_chunk_has_the_role(
    client: openai.AsyncOpenAI, routes: Routes
) -> None:
    routes.steps["gpt-test"] = Reply(chunks=["Once", " upon", " a", " time."])
    with trio.fail_after(DEADLINE):
        stream = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "story"}], stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "Once upon a time."
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


async def test_the_head_goes_out_when_the_upstream_accepts_not_at_its_first_token(
    client: openai.AsyncOpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    # As the upstream's own head does: the client learns the request was taken
    # (and parses the head) while the model is still silent.
    routes.steps["gpt-test"] = Reply(text="late", ttft=3 * DEADLINE)
    with trio.fail_after(DEADLINE):
        stream = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "x"}], stream=True
        )
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert upstream.active_requests == 1  # no token yet: still in its wait
        await stream.close()
        await upstream.wait_for_connections(0)  # and leaving still cancels it


async def test_include_usage_adds_a_last_chunk_with_no_choices(
    client: openai.AsyncOpenAI, routes: Routes
) -> None:
    routes.steps["gpt-test"] = Reply(
        text="four words right here", usage=FakeUsage(prompt_tokens=11, completion_tokens=4)
    )
    with trio.fail_after(DEADLINE):
        stream = await client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (11, 4)
    assert last.usage.total_tokens == 15
    assert all(c.usage is None for c in chunks[:-1])
    assert "estimated" not in (last.usage.model_extra or {})  # counts from the upstream


async def test_usage_the_upstream_did_not_send_is_marked_estimated(
    client: openai.AsyncOpenAI, routes: Routes
) -> None:
    """llama.cpp's server ignores include_usage: the counts are ours, and say so."""
    routes.steps["gpt-test"] = Reply(text="four words right here", stream_usage=False)
    with trio.fail_after(DEADLINE):
        stream = await client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.completion_tokens == 4
    assert usage.model_extra == {"estimated": True, "cost_usd": None}  # extension fields kept


async def test_tool_calls_round_trip(
    client: openai.AsyncOpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    call = FakeToolCall(name="get_weather", arguments={"city": "Paris"}, id="call_1")
    routes.steps["gpt-test"] = [Reply(tool_calls=[call]), Reply(text="Sunny in Paris.")]
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Paris?"}]
    with trio.fail_after(DEADLINE):
        first = await client.chat.completions.create(
            model="gpt-test", messages=messages, tools=[WEATHER], tool_choice="auto"
        )
        asked = first.choices[0].message
        assert first.choices[0].finish_reason == "tool_calls"
        assert asked.tool_calls is not None
        assert asked.tool_calls[0].id == "call_1"
        assert asked.tool_calls[0].function.name == "get_weather"
        assert json.loads(asked.tool_calls[0].function.arguments) == {"city": "Paris"}
        messages.append(asked.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": "call_1", "content": "sunny"})
        second = await client.chat.completions.create(
            model="gpt-test", messages=messages, tools=[WEATHER]
        )
    assert second.choices[0].message.content == "Sunny in Paris."
    sent = upstream.requests[-1].json
    assert isinstance(sent, dict)
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][2] == {
        "role": "tool",
        "content": "sunny",
        "tool_call_id": "call_1",
    }


async def test_streamed_tool_call_deltas(client: openai.AsyncOpenAI, routes: Routes) -> None:
    call = FakeToolCall(name="get_weather", arguments={"city": "Paris"}, id="call_9")
    routes.steps["gpt-test"] = Reply(tool_calls=[call])
    with trio.fail_after(DEADLINE):
        stream = await client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "Weather?"}],
            tools=[WEATHER],
            stream=True,
        )
        chunks = [chunk async for chunk in stream]
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert deltas[0].id == "call_9"
    assert deltas[0].function is not None and deltas[0].function.name == "get_weather"
    arguments = "".join((d.function.arguments or "") for d in deltas if d.function)
    assert json.loads(arguments) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_race_virtual_model_answers_with_the_fastest(
    client: openai.AsyncOpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["slow"] = Reply(text="slow answer", ttft=5)
    routes.steps["fast"] = Reply(text="fast answer", ttft=0.05)
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.create(
            model="race:slow,fast", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "fast answer"
        assert reply.model == "race:slow,fast"
        stream = await client.chat.completions.create(
            model="race:slow,fast", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text == "fast answer"
        # the slow loser was cancelled: only the SDK's idle keep-alive remain
        assert upstream.active_requests == 0


async def test_models_lists_configured_names(client: openai.AsyncOpenAI) -> None:
    with trio.fail_after(DEADLINE):
        page = await client.models.list()
    assert [m.id for m in page.data] == ["fast", "gpt-test", "slow", "default"]
    assert all(m.object == "model" for m in page.data)
