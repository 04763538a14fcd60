"""Without a config the gateway serves the embedded local model (SmolLM2, no
key): the real model answers through the real openai SDK, whole and streamed,
and a client that closes its stream stops the model's thread."""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator

import openai
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.server import serve
from abstractcore_actors.testing import prepare_sdk_client

pytestmark = pytest.mark.local_model

THREAD = "abstractcore-actors local model"
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def model_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD]


@pytest.fixture
async def client(rt: Runtime) -> AsyncIterator[openai.AsyncOpenAI]:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(functools.partial(serve, rt, None, port=0))
        sdk = openai.AsyncOpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=60
        )
        prepare_sdk_client(sdk)
        async with sdk:
            yield sdk
        nursery.cancel_scope.cancel()


async def test_the_default_gateway_answers_with_the_local_model(
    client: openai.AsyncOpenAI,
) -> None:
    with trio.fail_after(120):
        models = await client.models.list()
        whole = await client.chat.completions.create(
            model="local",
            messages=MESSAGES,  # type: ignore[arg-type]
            max_tokens=8,
            temperature=0,
        )
        stream = await client.chat.completions.create(
            model="local",
            messages=MESSAGES,  # type: ignore[arg-type]
            max_tokens=8,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
    assert [m.id for m in models.data] == ["local"]
    assert whole.choices[0].message.content and whole.choices[0].message.content.strip()
    assert whole.choices[0].finish_reason in ("stop", "length")
    assert whole.usage is not None and 0 < whole.usage.completion_tokens <= 8
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert 0 < chunks[-1].usage.completion_tokens <= 8


async def test_closing_a_local_stream_stops_the_model(
    rt: Runtime, client: openai.AsyncOpenAI
) -> None:
    pieces = 0
    async with rt.events.subscribe("cancelled", request_id="local-stop") as cancels:
        with trio.fail_after(120):
            stream = await client.chat.completions.create(
                model="local",
                messages=[{"role": "user", "content": "Write a very long story about the sea."}],
                max_tokens=400,
                stream=True,
                extra_headers={"x-request-id": "local-stop"},
            )
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces += 1
                    if pieces == 3:
                        break
            await stream.close()
            cancelled = await cancels.receive()  # the gateway cancelled the model's call
    assert pieces == 3
    assert cancelled.request_id == "local-stop"
    # the cancel returns only once the model's thread has stopped generating
    assert model_threads() == []
