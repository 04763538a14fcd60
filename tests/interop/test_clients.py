"""Clients users pick, against our gateway: LangChain's `ChatOpenAI` /
`OpenAIEmbeddings` and the `litellm` SDK (pinned in the `interop` group).

Both are synchronous here: their async paths run on asyncio, and this suite
runs on trio, so each call runs in a worker thread (as a sync app would
call them) while the gateway and the fake upstream serve on trio.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from abstractcore_actors import open_runtime
from abstractcore_actors.testing import (
    FakeOpenAIServer,
    FakeToolCall,
    Reply,
    open_fake_openai_server,
)
from tests.server.conftest import KEY, UPSTREAM_KEY, Routes, gateway_config, serving

# litellm fetches a model price list from the internet at import unless told not to
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
langchain_openai = pytest.importorskip("langchain_openai")
litellm = pytest.importorskip("litellm")

DEADLINE = 60
# pydantic warns about litellm's own types at import; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[str, Routes, FakeOpenAIServer]]:
    routes = Routes()
    async with (
        open_fake_openai_server(routes, api_key=UPSTREAM_KEY) as upstream,
        open_runtime(env={}) as rt,
        serving(rt, gateway_config(upstream)) as port,
    ):
        yield f"http://127.0.0.1:{port}/v1", routes, upstream


async def _in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with trio.fail_after(DEADLINE):
        return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


async def test_langchain_chat_openai_invokes_streams_and_calls_tools(
    gateway: tuple[str, Routes, FakeOpenAIServer],
) -> None:
    base, routes, _ = gateway
    chat = langchain_openai.ChatOpenAI(
        model="gpt-test", base_url=base, api_key=KEY, max_retries=0, temperature=0
    )
    reply = await _in_thread(chat.invoke, "hello there")
    assert reply.content == "echo: hello there"
    assert reply.usage_metadata["output_tokens"] > 0

    pieces = await _in_thread(lambda: [c.content for c in chat.stream("one two three")])
    assert "".join(pieces) == "echo: one two three"
    assert len([p for p in pieces if p]) > 1

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return f"sunny in {city}"

    routes.steps["gpt-test"] = Reply(
        tool_calls=[FakeToolCall(name="get_weather", arguments={"city": "Paris"})]
    )
    called = await _in_thread(chat.bind_tools([get_weather]).invoke, "weather in Paris?")
    (call,) = called.tool_calls
    assert (call["name"], call["args"]) == ("get_weather", {"city": "Paris"})


async def test_langchain_embeddings_by_text(
    gateway: tuple[str, Routes, FakeOpenAIServer],
) -> None:
    base, _, upstream = gateway
    # by text: LangChain's default sends tiktoken ids, whose encoding file it
    # downloads (no internet here); see test_embeddings' token-id tests
    embeddings = langchain_openai.OpenAIEmbeddings(
        model="gpt-test", base_url=base, api_key=KEY, check_embedding_ctx_length=False
    )
    vectors = await _in_thread(embeddings.embed_documents, ["a", "b c"])
    assert len(vectors) == 2 and all(len(v) > 0 for v in vectors)
    assert upstream.requests[-1].json["input"] == ["a", "b c"]


async def test_litellm_completion_and_stream_through_the_gateway(
    gateway: tuple[str, Routes, FakeOpenAIServer],
) -> None:
    base, _, _ = gateway
    common = {"model": "openai/gpt-test", "api_base": base, "api_key": KEY}
    reply = await _in_thread(
        litellm.completion, messages=[{"role": "user", "content": "hi there"}], **common
    )
    assert reply.choices[0].message.content == "echo: hi there"
    assert reply.usage.completion_tokens > 0

    def streamed() -> str:
        chunks = litellm.completion(
            messages=[{"role": "user", "content": "a b c"}], stream=True, **common
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks)

    assert await _in_thread(streamed) == "echo: a b c"


async def test_litellm_sees_our_errors_as_its_own_types(
    gateway: tuple[str, Routes, FakeOpenAIServer],
) -> None:
    base, _, _ = gateway
    with pytest.raises(litellm.exceptions.NotFoundError):
        await _in_thread(
            litellm.completion,
            model="openai/no-such-model",
            api_base=base,
            api_key=KEY,
            messages=[{"role": "user", "content": "hi"}],
        )
    with pytest.raises(litellm.exceptions.AuthenticationError):
        await _in_thread(
            litellm.completion,
            model="openai/gpt-test",
            api_base=base,
            api_key="wrong-key",
            messages=[{"role": "user", "content": "hi"}],
        )
