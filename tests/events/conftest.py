"""A runtime with a fake OpenAI server and an LLM on it, for event tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from abstractcore_actors import LLM, Runtime, open_runtime
from abstractcore_actors.testing import FakeOpenAIServer, open_fake_openai_server
from tests.leaks import our_tasks


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server() as fake:
        yield fake


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with open_runtime(env={}) as runtime:
        yield runtime
    assert our_tasks() == []


@pytest.fixture
def llm(rt: Runtime, server: FakeOpenAIServer) -> LLM:
    return rt.create_llm("openai-compatible", "fake-model", base_url=server.base_url, max_retries=2)
