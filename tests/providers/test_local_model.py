"""The local provider with the real shipped model (SmolLM2-135M GGUF). Few and short."""

from __future__ import annotations

import threading

import pytest
import trio

from abstractcore_actors import BadRequest, ConfigurationError, Runtime, ToolSpec, open_runtime
from abstractcore_actors.providers import ProviderConfig
from abstractcore_actors.providers._local import LocalAdapter
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


@pytest.mark.parametrize("how", ["break", "cancel scope"])
async def test_cancel_stops_within_one_token_and_leaves_no_thread(how: str) -> None:
    adapter = LocalAdapter(ProviderConfig(provider="local", model="smollm2"))
    try:
        with trio.fail_after(60):
            got = 0
            if how == "break":
                stream = adapter.stream(request("Write a long story about a dragon.", 200))
                async for _ in stream:
                    got += 1
                    if got == 3:
                        break
                await stream.aclose()  # type: ignore[attr-defined]
            else:
                # a cancel scope around the consumer, cancelled after 3 chunks
                # (not after a time: a loaded machine loads the model slowly)
                with trio.CancelScope() as scope:
                    async for _ in adapter.stream(request("Write a long story.", 200)):
                        got += 1
                        if got == 3:
                            scope.cancel()
                assert scope.cancelled_caught
        assert got >= 1
        assert adapter.tokens_after_cancel <= 1
        assert model_threads() == []  # the worker thread has finished
    finally:
        await adapter.aclose()


async def test_concurrent_calls_are_serialised_and_the_model_loads_once() -> None:
    adapter = LocalAdapter(ProviderConfig(provider="local", model="smollm2"))
    try:
        results: list[str] = []

        async def one(prompt: str) -> None:
            results.append((await adapter.generate(request(prompt, 8))).content)

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(one, "Name a colour.")
                nursery.start_soon(one, "Name a fruit.")
        assert len(results) == 2
        assert adapter.loads == 1
    finally:
        await adapter.aclose()


async def test_tools_are_refused_with_a_clear_error(local_rt: Runtime) -> None:
    llm = local_rt.create_llm("local")
    with trio.fail_after(60), pytest.raises(BadRequest, match="does not support tool calling"):
        await llm.generate("Hi", tools=[ToolSpec(name="f")])


async def test_a_bad_model_path_fails_at_create_llm(local_rt: Runtime) -> None:
    with pytest.raises(ConfigurationError, match=r"\.gguf"):
        local_rt.create_llm("local", "/nowhere/model.gguf")
    assert local_rt.names() == []
