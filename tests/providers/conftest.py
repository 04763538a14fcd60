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


@pytest.fixture(params=["openai", "openai-compatible"])
def make_openai_llm(
    request: pytest.FixtureRequest, rt: Runtime, openai_server: FakeOpenAIServer
) -> Callable[..., LLM]:
    """An LLM on the fake OpenAI server, through the SDK or through httpx."""

    def make(**options: Any) -> LLM:
        return rt.create_llm(
            request.param,
            "gpt-test",
            base_url=openai_server.base_url,
            api_key=API_KEY,
            **{**FAST, **options},
        )

    return make
