"""Routing the names the conftest's gateway does not: `provider/model`
passthrough (on, with the provider configured from the runtime's
environment, and without its key), a single-model hedge, and the
server-wide max_tokens cap."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import openai
import pytest
import trio

from abstractcore_actors import Runtime, open_runtime
from abstractcore_actors.testing import FakeOpenAIServer, Reply

from .conftest import (
    DEADLINE,
    Routes,
    assert_openai_error,
    chat,
    gateway_config,
    http_client,
    passthrough_env,
    sdk_client,
    serving,
)


@pytest.fixture
async def passthrough(upstream: FakeOpenAIServer) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway with passthrough on, over a runtime whose environment points
    the openai provider at the fake upstream (and has no Anthropic key)."""
    config = gateway_config(upstream, passthrough=True)
    async with (
        open_runtime(env=passthrough_env(upstream)) as rt,
        serving(rt, config) as port,
        http_client(port) as http,
    ):
        yield http


async def test_passthrough_routes_provider_slash_model(
    passthrough: httpx.AsyncClient, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["gpt-4o-mini"] = Reply(text="through")
    with trio.fail_after(DEADLINE):
        routed = await passthrough.post("/v1/chat/completions", json=chat("openai/gpt-4o-mini"))
        no_key = await passthrough.post(
            "/v1/chat/completions", json=chat("anthropic/claude-3-5-haiku-latest")
        )
        unknown = await passthrough.post("/v1/chat/completions", json=chat("nosuch/model"))
    assert routed.status_code == 200, routed.text
    assert routed.json()["choices"][0]["message"]["content"] == "through"
    assert routed.json()["model"] == "openai/gpt-4o-mini"
    sent = upstream.requests[-1].json
    assert isinstance(sent, dict) and sent["model"] == "gpt-4o-mini"
    error = assert_openai_error(no_key, 503)
    assert error["code"] == "model_unavailable" and "ANTHROPIC_API_KEY" in str(error["message"])
    assert assert_openai_error(unknown, 404)["code"] == "model_not_found"


async def test_a_single_model_hedge_retries_the_same_model(
    client: openai.AsyncOpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    # the first attempt hangs; the hedge starts a second one of the same model
    routes.steps["slow"] = [Reply(text="late", ttft=5), Reply(text="second")]
    with trio.fail_after(DEADLINE):
        start = trio.current_time()
        answer = await client.chat.completions.create(
            model="hedge:slow?after=0.2&max_attempts=2",
            messages=[{"role": "user", "content": "hi"}],
        )
        took = trio.current_time() - start
        await upstream.wait_for_requests(0)  # the first attempt is cancelled
    assert answer.choices[0].message.content == "second"
    assert 0.2 <= took < 3  # not the first attempt's 5 s
    assert len(upstream.requests) == 2


async def test_the_server_max_tokens_caps_every_request(
    rt: Runtime, upstream: FakeOpenAIServer
) -> None:
    config = gateway_config(upstream, max_tokens=5)
    async with serving(rt, config) as port, sdk_client(port) as sdk:
        with trio.fail_after(DEADLINE):
            for asked in (100, None, 3):
                extra = {} if asked is None else {"max_tokens": asked}
                await sdk.chat.completions.create(
                    model="gpt-test",
                    messages=[{"role": "user", "content": "hi"}],
                    **extra,  # type: ignore[arg-type]
                )
    sent = [r.json for r in upstream.requests]
    caps = [body.get("max_tokens") or body.get("max_completion_tokens") for body in sent]  # type: ignore[union-attr]
    assert caps == [5, 5, 3]
