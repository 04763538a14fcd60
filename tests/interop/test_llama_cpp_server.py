"""Against a server nobody on the team wrote: llama.cpp's OpenAI-compatible
server (`python -m llama_cpp.server`, from llama-cpp-python's `server` extra)
serving the shipped SmolLM2 model in its own process, on the real clock.

Our `openai-compatible` provider calls it directly (generate, stream, stop
mid-stream), and the real openai SDK calls it through our gateway.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import attrs
import httpx
import openai
import pytest
import trio

from abstractcore_actors import LLM, Runtime, open_runtime
from abstractcore_actors._providers._local import default_model_path
from abstractcore_actors.server import GatewayConfig, ModelRoute, serve
from abstractcore_actors.structured import generate_structured

pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server]")
pytestmark = pytest.mark.local_model

DEADLINE = 60


@attrs.frozen
class Colour:
    name: str
    liking: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's server on 127.0.0.1 with the shipped GGUF; yields its /v1 base URL."""
    port = _free_port()
    # a file, not a pipe: a pipe nobody reads would block the server once full
    log = (tmp_path_factory.mktemp("llama-server") / "stderr.log").open("w+b")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(default_model_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
            # as our local provider does: batched decoding segfaults this
            # CPU build of llama.cpp (see providers/_local.py)
            "--n_batch",
            "1",
            "--verbose",
            "false",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        give_up = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"llama.cpp server exited: {log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > give_up:
                pytest.fail("llama.cpp server did not start within 120 s")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with open_runtime(env={}) as runtime:
        yield runtime


async def test_generate_and_stream_with_usage(rt: Runtime, llama_server: str) -> None:
    llm = rt.create_llm("openai-compatible", "smollm2", base_url=llama_server)
    with trio.fail_after(DEADLINE):
        reply = await llm.generate("What is the capital of France?", max_tokens=16, temperature=0)
        async with llm.stream("Say hello.", max_tokens=16, temperature=0) as stream:
            pieces = [chunk.text async for chunk in stream]
        streamed = stream.response()
    assert reply.content.strip()
    assert reply.finish_reason in ("stop", "length")
    assert reply.usage.prompt_tokens > 0 and 0 < reply.usage.completion_tokens <= 16
    assert len([p for p in pieces if p]) > 1  # really streamed, token by token
    assert streamed.content == "".join(pieces)
    assert streamed.finish_reason in ("stop", "length")
    # llama.cpp's server ignores stream_options.include_usage: an estimate, never zero
    assert streamed.usage.estimated
    assert streamed.usage.completion_tokens == len([p for p in pieces if p])
    assert streamed.usage.prompt_tokens > 0
    assert not reply.usage.estimated  # its non-streamed answers do carry usage


async def test_leaving_a_stream_early_frees_the_server(rt: Runtime, llama_server: str) -> None:
    """llama.cpp serves one generation at a time: had the long stream's
    connection stayed open, the next call would wait for all of its tokens."""
    llm = rt.create_llm("openai-compatible", "smollm2", base_url=llama_server)
    with trio.fail_after(DEADLINE):
        async with llm.stream("Count from one to five hundred.", max_tokens=1500) as stream:
            seen = 0
            async for chunk in stream:
                seen += bool(chunk.text)
                if seen == 3:
                    break
        reply = await llm.generate("Say yes.", max_tokens=4, temperature=0)
    assert reply.content.strip()


async def test_the_openai_sdk_through_our_gateway_to_llama_cpp(
    rt: Runtime, llama_server: str
) -> None:
    config = GatewayConfig(
        models={
            "smol": ModelRoute(
                provider="openai-compatible", model="smollm2", options={"base_url": llama_server}
            )
        },
        passthrough=False,
    )
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve, rt, config)
        async with openai.AsyncOpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0
        ) as client:
            with trio.fail_after(DEADLINE):
                chunks = [
                    chunk
                    async for chunk in await client.chat.completions.create(
                        model="smol",
                        messages=[{"role": "user", "content": "Name a colour."}],
                        max_tokens=8,
                        temperature=0,
                        stream=True,
                        stream_options={"include_usage": True},
                    )
                ]
        nursery.cancel_scope.cancel()
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert all(c.model == "smol" for c in chunks)


# SmolLM2's end tokens (<|endoftext|>, <|im_end|>) banned: the answer runs to max_tokens
_NO_END = {"0": -100, "2": -100}


async def _next_call_after_a_cancelled_one(llm: LLM) -> float:
    """Cancel a long non-streamed call after 1 s; how long the next call takes."""
    with trio.move_on_after(1.0):
        await llm.generate("Count to a thousand.", max_tokens=300, logit_bias=_NO_END)
    start = trio.current_time()
    with trio.fail_after(DEADLINE):
        reply = await llm.generate("Say yes.", max_tokens=4, temperature=0)
    assert reply.content.strip()
    return trio.current_time() - start


async def test_cancelling_a_non_streamed_call_stops_llama_cpp(
    rt: Runtime, llama_server: str
) -> None:
    """llama.cpp computes a non-streamed answer to its end after its client has
    gone, and serves one generation at a time. Asked upstream as a stream (the
    `llamacpp` provider's default), the cancelled call's stream is closed and
    the server stops, so the next call does not wait out the 300 tokens."""
    as_stream = rt.create_llm("llamacpp", "smollm2", base_url=llama_server)
    assert as_stream.config.options["stream_upstream"] is True
    whole = rt.create_llm("llamacpp", "smollm2", base_url=llama_server, stream_upstream=False)
    waited_whole = await _next_call_after_a_cancelled_one(whole)
    waited_stream = await _next_call_after_a_cancelled_one(as_stream)
    # the whole answer's remaining ~290 tokens vs none: measured 9 s vs 0.6 s
    assert waited_stream < waited_whole / 3, (waited_stream, waited_whole)


async def test_structured_output_in_llama_cpp_s_own_native_form(
    rt: Runtime, llama_server: str
) -> None:
    """The `llamacpp` provider asks with `{"type": "json_object", "schema": ...}`,
    which the server turns into a grammar: the answer fits on the first try."""
    llm = rt.create_llm("llamacpp", "smollm2", base_url=llama_server)
    with trio.fail_after(DEADLINE):
        result = await generate_structured(
            llm,
            "Name one colour and say how much you like it.",
            response_model=Colour,
            max_tokens=64,
            temperature=0,
        )
    assert result.mode == "json_object_schema"
    assert isinstance(result.value, Colour) and result.value.name.strip()
    assert len(result.attempts) == 1


async def test_logprobs_from_llama_cpp(rt: Runtime, llama_server: str) -> None:
    """Its chat answer carries OpenAI's `logprobs.content`; ours decodes it."""
    llm = rt.create_llm("llamacpp", "smollm2", base_url=llama_server)
    with trio.fail_after(DEADLINE):
        reply = await llm.generate(
            "Say hello.", max_tokens=8, temperature=0, logprobs=True, top_logprobs=2
        )
    assert reply.logprobs, "llama.cpp sent no logprobs"
    assert "".join(lp.token for lp in reply.logprobs) == reply.content
    assert all(lp.logprob <= 0 and lp.top for lp in reply.logprobs)
