"""A named tool_choice crosses the gateway and reaches an OpenAI-wire upstream in its own form."""

from __future__ import annotations

import openai
import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer, FakeToolCall, Reply

from .conftest import DEADLINE, Routes
from .test_chat import WEATHER

FORCED = {"type": "function", "function": {"name": "get_weather"}}


async def test_a_named_tool_choice_is_forwarded_as_openai_sends_it(
    client: openai.AsyncOpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["gpt-test"] = [Reply(tool_calls=[FakeToolCall(name="get_weather")])]
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "Weather?"}],
            tools=[WEATHER],  # type: ignore[list-item]
            tool_choice=FORCED,  # type: ignore[arg-type]
        )
    assert reply.choices[0].finish_reason == "tool_calls"
    sent = upstream.requests[-1].json
    assert isinstance(sent, dict)
    assert sent["tool_choice"] == FORCED


async def test_forcing_a_tool_that_was_not_sent_is_a_400(
    client: openai.AsyncOpenAI, upstream: FakeOpenAIServer
) -> None:
    with trio.fail_after(DEADLINE), pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "Weather?"}],
            tools=[WEATHER],  # type: ignore[list-item]
            tool_choice={"type": "function", "function": {"name": "get_time"}},
        )
    assert "get_time" in str(info.value)
    assert upstream.requests == []
