"""The openai SDK's *sync* client against the gateway (in a worker thread, as a
sync app would call it): whole answers, streams, tool calls, errors as the
SDK's typed exceptions, virtual models, and a stream closed early cancels
the upstream call."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TypeVar

import openai
import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer, FakeToolCall, Reply

from .conftest import DEADLINE, KEY, UPSTREAM_KEY, Routes

T = TypeVar("T")
MESSAGES = [{"role": "user", "content": "hello there"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture
def sync_client(port: int) -> Iterator[openai.OpenAI]:
    sdk = openai.OpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0, timeout=DEADLINE
    )
    yield sdk
    sdk.close()


async def in_thread(call: Callable[[], T]) -> T:
    """Run blocking SDK code off the trio thread, which serves the gateway."""
    with trio.fail_after(DEADLINE):
        return await trio.to_thread.run_sync(call)


async def test_whole_answer_and_stream(sync_client: openai.OpenAI, routes: Routes) -> None:
    routes.steps["gpt-test"] = Reply(chunks=["Hel", "lo", "!"])

    def whole_and_stream() -> tuple[openai.types.chat.ChatCompletion, list[str], object]:
        whole = sync_client.chat.completions.create(model="gpt-test", messages=MESSAGES)  # type: ignore[arg-type]
        pieces, usage = [], None
        with sync_client.chat.completions.create(
            model="default",  # an alias
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        ) as stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                usage = chunk.usage or usage
        return whole, pieces, usage

    whole, pieces, usage = await in_thread(whole_and_stream)
    assert whole.choices[0].message.content == "Hello!"
    assert whole.object == "chat.completion" and whole.model == "gpt-test"
    assert "".join(pieces) == "Hello!"
    assert usage is not None


async def test_tool_calls(sync_client: openai.OpenAI, routes: Routes) -> None:
    call = FakeToolCall(name="get_weather", arguments={"city": "Paris"}, id="call_7")
    routes.steps["gpt-test"] = Reply(tool_calls=[call])

    def ask() -> openai.types.chat.ChatCompletion:
        return sync_client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[WEATHER],  # type: ignore[list-item]
        )

    answer = await in_thread(ask)
    [asked] = answer.choices[0].message.tool_calls or []
    assert answer.choices[0].finish_reason == "tool_calls"
    assert asked.id == "call_7" and asked.function.name == "get_weather"
    assert json.loads(asked.function.arguments) == {"city": "Paris"}


async def test_errors_are_the_sdks_typed_exceptions(port: int, sync_client: openai.OpenAI) -> None:
    def unknown_model() -> None:
        sync_client.chat.completions.create(model="nope", messages=MESSAGES)  # type: ignore[arg-type]

    def bad_key() -> None:
        with openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="wrong", max_retries=0
        ) as other:
            other.chat.completions.create(model="gpt-test", messages=MESSAGES)  # type: ignore[arg-type]

    def bad_body() -> None:
        sync_client.chat.completions.create(model="gpt-test", messages=[])

    with pytest.raises(openai.NotFoundError) as missing:
        await in_thread(unknown_model)
    with pytest.raises(openai.AuthenticationError) as refused:
        await in_thread(bad_key)
    with pytest.raises(openai.BadRequestError) as bad:
        await in_thread(bad_body)
    assert missing.value.code == "model_not_found"
    assert refused.value.code == "invalid_api_key"
    assert bad.value.param == "messages"
    for error in (missing, refused, bad):
        assert UPSTREAM_KEY not in str(error.value) and KEY not in str(error.value)


async def test_a_race_and_an_early_close(
    sync_client: openai.OpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["fast"] = Reply(text="quick")
    routes.steps["slow"] = Reply(text="word " * 200, token_latency=0.05)  # 10 s in all

    def race_then_leave() -> tuple[str | None, int]:
        raced = sync_client.chat.completions.create(
            model="race:slow,fast",
            messages=MESSAGES,  # type: ignore[arg-type]
        )
        seen = 0
        stream = sync_client.chat.completions.create(
            model="slow",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                seen += 1
                if seen == 2:
                    break
        stream.close()  # the person pressed Stop
        return raced.choices[0].message.content, seen

    content, seen = await in_thread(race_then_leave)
    assert content == "quick" and seen == 2
    # the race's winner keeps its connection alive; no request is left running
    with trio.fail_after(2):  # far less than the slow answer's 10 s
        await upstream.wait_for_requests(0)
    assert upstream.active_requests == 0
