"""The local provider through the runtime (the LLM handle and its actor), with the
real shipped model. The adapter's own cancel/thread tests: test_local_adapter.py."""

from __future__ import annotations

import threading

import pytest
import trio

from abstractcore_actors import BadRequest, ConfigurationError, Runtime, ToolSpec, open_runtime
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


async def test_tools_are_refused_with_a_clear_error(local_rt: Runtime) -> None:
    llm = local_rt.create_llm("local")
    with trio.fail_after(60), pytest.raises(BadRequest, match="does not support tool calling"):
        await llm.generate("Hi", tools=[ToolSpec(name="f")])


async def test_a_bad_model_path_fails_at_create_llm(local_rt: Runtime) -> None:
    with pytest.raises(ConfigurationError, match=r"\.gguf"):
        local_rt.create_llm("local", "/nowhere/model.gguf")
    assert local_rt.names() == []
