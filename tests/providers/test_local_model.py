"""The local provider through the runtime (the LLM handle and its actor), with the
real shipped model. The adapter's own cancel/thread tests: test_local_adapter.py."""

from __future__ import annotations

import threading

import pytest
import trio

from abstractcore_actors import ConfigurationError, Runtime, ToolSpec, open_runtime, tool
from abstractcore_actors.types import Message, Request

pytestmark = pytest.mark.local_model

THREAD = "abstractcore-actors local model"


def model_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD]


def request(prompt: str, max_tokens: int) -> Request:
    return Request(messages=(Message.user(prompt),), max_tokens=max_tokens, request_id="r")


@pytest.fixture
async def local_rt() -> Runtime:  # type: ignore[misc]
    async with open_runtime(env={}) as rt:
        yield rt


async def test_generate_and_stream(local_rt: Runtime) -> None:
    llm = local_rt.create_llm("local", temperature=0)
    with trio.fail_after(60):
        reply = await llm.generate("What is the capital of France?", max_tokens=12)
        async with llm.stream("Say hello.", max_tokens=12) as stream:
            chunks = [c async for c in stream]
    assert reply.content.strip()
    assert reply.finish_reason in ("stop", "length")
    assert reply.usage.completion_tokens > 0 and reply.usage.prompt_tokens > 0
    assert reply.model.startswith("SmolLM2")
    assert chunks[-1].finish_reason in ("stop", "length")
    assert chunks[-1].usage is not None
    assert "".join(c.text for c in chunks) == stream.response().content


WEATHER = ToolSpec(
    name="get_weather",
    description="The current weather in a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


async def test_the_local_model_calls_a_tool_and_answers_with_its_result(
    local_rt: Runtime,
) -> None:
    @tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        return f"sunny and 21 C in {city}"

    llm = local_rt.create_llm("local", temperature=0.0)
    with trio.fail_after(120):
        forced = await llm.generate(
            "Weather in Oslo?", tools=[WEATHER], tool_choice="get_weather", max_tokens=40
        )
        session = local_rt.session(llm, tools=[get_weather], max_tokens=60)
        answer = await session.generate("What is the weather in Paris?")
        none = await llm.generate("Say hi.", tools=[WEATHER], tool_choice="none", max_tokens=8)
    # the grammar makes every call well-formed: a known tool, arguments that fit its schema
    [call] = forced.tool_calls
    assert call.name == "get_weather" and isinstance(call.arguments["city"], str)
    assert forced.finish_reason == "tool_calls"
    roles = [m.role for m in session.history]
    assert roles == ["user", "assistant", "tool", "assistant"]  # one round of calls, then text
    assert session.history[2].content.startswith("sunny and 21 C in")
    assert answer.content and not answer.content.lstrip().startswith("{")
    assert not none.tool_calls


async def test_a_bad_model_path_fails_at_create_llm(local_rt: Runtime) -> None:
    with pytest.raises(ConfigurationError, match=r"\.gguf"):
        local_rt.create_llm("local", "/nowhere/model.gguf")
    assert local_rt.names() == []
