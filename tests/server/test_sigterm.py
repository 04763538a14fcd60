"""A real `abstractcore-actors serve` process, SIGTERMed while a stream runs:
within `--grace` the stream finishes whole; past it the stream is cut with
an error frame, the upstream connection closes, and the process exits 0."""

from __future__ import annotations

import signal
from pathlib import Path

import openai
import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer, Reply, prepare_sdk_client

from .conftest import Routes
from .process import KEY, gateway_process


async def stream_through_a_sigterm(
    tmp_path: Path, upstream: FakeOpenAIServer, grace: float
) -> tuple[str, BaseException | None, int]:
    """Stream "words", SIGTERM the gateway at its first token; the text, the
    SDK's error (if any) and the process's exit status."""
    text: list[str] = []
    error: BaseException | None = None
    async with gateway_process(tmp_path, upstream, grace) as (process, port):
        sdk = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0)
        prepare_sdk_client(sdk)
        async with sdk:
            stream = await sdk.chat.completions.create(
                model="words", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            try:
                async for chunk in stream:
                    piece = chunk.choices[0].delta.content if chunk.choices else None
                    if piece and not "".join(text):  # the first token: stop now
                        process.send_signal(signal.SIGTERM)
                    text.append(piece or "")
            except openai.APIError as exc:
                error = exc
        status = await process.wait()
    return "".join(text), error, status


async def test_sigterm_lets_a_stream_finish_within_the_grace(
    tmp_path: Path, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["words"] = Reply(text="one two three four five six", token_latency=0.1)
    with trio.fail_after(30):
        text, error, status = await stream_through_a_sigterm(tmp_path, upstream, grace=10)
    assert error is None
    assert text == "one two three four five six"
    assert status == 0


@pytest.mark.parametrize("grace", [0.5])
async def test_past_the_grace_sigterm_cuts_the_stream_and_closes_upstream(
    tmp_path: Path, upstream: FakeOpenAIServer, routes: Routes, grace: float
) -> None:
    routes.steps["words"] = Reply(text="word " * 200, token_latency=0.05)  # 10 s in all
    with trio.fail_after(30):
        start = trio.current_time()
        text, error, status = await stream_through_a_sigterm(tmp_path, upstream, grace)
        took = trio.current_time() - start
        await upstream.wait_for_requests(0)
    assert isinstance(error, openai.APIError) and "shutting down" in str(error)
    assert 0 < text.count("word") < 200
    assert status == 0
    assert took < 8  # the grace and the backstop, not the whole 10 s answer
    assert upstream.open_connections == 0  # the process is gone, its sockets with it
