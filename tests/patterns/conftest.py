"""One fake OpenAI server whose latency and answer depend on the model asked for."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import attrs
import pytest
import trio

from abstractcore_actors import LLM, Runtime, open_runtime
from abstractcore_actors.testing import (
    FakeOpenAIServer,
    Fault,
    RecordedRequest,
    Reply,
    Step,
    last_user_text,
    open_fake_openai_server,
)
from tests.leaks import our_tasks


@attrs.define
class Routes:
    """model name -> what the server does; and when each request arrived."""

    steps: dict[str, Step | list[Step]] = attrs.field(factory=dict)
    arrivals: list[tuple[str, float]] = attrs.field(factory=list)

    def __call__(self, request: RecordedRequest) -> Step:
        body = request.json if isinstance(request.json, dict) else {}
        model = str(body.get("model"))
        self.arrivals.append((model, trio.current_time()))
        by_prompt = self.steps.get(f"prompt:{last_user_text(request)}")
        step = by_prompt or self.steps.get(model, Reply(text=f"answer from {model}"))
        if isinstance(step, list):
            return step.pop(0) if len(step) > 1 else step[0]
        return step


def answer(text: str, ttft: float, chunks: int = 4) -> Reply:
    """A reply of `chunks` pieces whose first byte comes after `ttft` seconds."""
    pieces = [text] + [" ."] * (chunks - 1)
    return Reply(chunks=pieces, ttft=ttft, token_latency=0.01)


def failing(code: int = 500, ttft: float = 0.0) -> Fault:
    return Fault(kind="status", status_code=code, ttft=ttft, message="down")


@pytest.fixture
def routes() -> Routes:
    return Routes()


@pytest.fixture
async def server(routes: Routes) -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server(routes) as fake:
        yield fake


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with open_runtime(env={}) as runtime:
        yield runtime
    assert our_tasks() == []


@pytest.fixture
def llm(rt: Runtime, server: FakeOpenAIServer) -> Callable[[str], LLM]:
    def make(model: str) -> LLM:
        return rt.create_llm(
            "openai-compatible",
            model,
            base_url=server.base_url,
            max_retries=0,
            name=model,
        )

    return make
