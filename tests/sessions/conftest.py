"""Sessions against the fake OpenAI server, with a scripted "model" that asks
for tools and reads their results, like a real one would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest

from abstractcore_actors import LLM, Runtime, open_runtime
from abstractcore_actors.testing import (
    FakeOpenAIServer,
    RecordedRequest,
    Reply,
    Step,
    open_fake_openai_server,
)
from tests.leaks import our_tasks


def messages_of(request: RecordedRequest) -> list[dict[str, Any]]:
    body = request.json if isinstance(request.json, dict) else {}
    return list(body.get("messages", []))


@attrs.define
class Model:
    """Decides each reply from the request; records what it was sent.

    `plan(messages) -> Step`: by default, when the last message is a tool
    result it answers "done: <tool results>", else it echoes the last user
    message after `ttft`, in word chunks `token_latency` apart.
    """

    plan: Callable[[list[dict[str, Any]]], Step] | None = None
    ttft: float = 0.0
    token_latency: float = 0.0
    seen: list[list[dict[str, Any]]] = attrs.field(factory=list)

    def __call__(self, request: RecordedRequest) -> Step:
        messages = messages_of(request)
        self.seen.append(messages)
        if self.plan is not None:
            return self.plan(messages)
        last = messages[-1]
        if last["role"] == "tool":
            results = [m["content"] for m in messages if m["role"] == "tool"]
            return Reply(text="done: " + ", ".join(results), ttft=self.ttft)
        return Reply(
            text=f"echo: {last.get('content')}",
            ttft=self.ttft,
            token_latency=self.token_latency,
        )


@pytest.fixture
def model() -> Model:
    return Model()


@pytest.fixture
async def server(model: Model) -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server(model) as fake:
        yield fake


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with open_runtime(env={}) as runtime:
        yield runtime
    assert our_tasks() == []


@pytest.fixture
def llm(rt: Runtime, server: FakeOpenAIServer) -> LLM:
    return rt.create_llm("openai-compatible", "fake-model", base_url=server.base_url)
