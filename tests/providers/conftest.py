"""Fixtures: a runtime plus fake wire servers on 127.0.0.1, and LLMs pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from abstractcore_actors import LLM, Runtime, open_runtime
from abstractcore_actors.testing import (
    FakeAnthropicServer,
    FakeOpenAIServer,
    open_fake_anthropic_server,
    open_fake_openai_server,
)
from tests.leaks import our_tasks

API_KEY = "sk-test-SECRET-0123456789"


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with open_runtime(env={}) as runtime:
        yield runtime
    assert our_tasks() == []


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server() as server:
        yield server


@pytest.fixture
async def anthropic_server() -> AsyncIterator[FakeAnthropicServer]:
    async with open_fake_anthropic_server() as server:
        yield server


# Fast retries for tests: the MockClock skips the waits anyway, but small
# numbers keep the arithmetic of timing assertions readable.
FAST = {"retry_seed": 7, "connect_timeout": 5, "read_timeout": 30}


# The OpenAI adapter (the official SDK) and the OpenAI-compatible adapter on
# each of its two HTTP clients: the lean HTTP/1.1 one and httpx. Every adapter
# test runs against all three, so neither client can drift from the other.
OPENAI_ADAPTERS = {
    "openai": ("openai", {}),
    "compatible-lean": ("openai-compatible", {"http_client": "lean"}),
    "compatible-httpx": ("openai-compatible", {"http_client": "httpx"}),
}


@pytest.fixture(params=list(OPENAI_ADAPTERS))
def make_openai_llm(
    request: pytest.FixtureRequest, rt: Runtime, openai_server: FakeOpenAIServer
) -> Callable[..., LLM]:
    """An LLM on the fake OpenAI server: the SDK, or either of the compatible adapter's clients."""
    provider, client = OPENAI_ADAPTERS[request.param]

    def make(**options: Any) -> LLM:
        return rt.create_llm(
            provider,
            "gpt-test",
            base_url=openai_server.base_url,
            api_key=API_KEY,
            **{**FAST, **client, **options},
        )

    return make
