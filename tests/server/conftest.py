"""A gateway on 127.0.0.1 in the test's nursery, a fake OpenAI upstream behind it,
and clients that speak to the gateway: the real openai SDK, and httpx.

Real clock: the HTTP server keeps its own timers (keep-alive, graceful shutdown),
so every test bounds itself with `trio.fail_after` instead of a MockClock.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import httpx
import openai
import pytest
import trio

from abstractcore_actors import Runtime, open_runtime
from abstractcore_actors.server import GatewayConfig, ModelRoute, hash_key, serve
from abstractcore_actors.testing import (
    FakeOpenAIServer,
    RecordedRequest,
    Reply,
    Step,
    last_user_text,
    open_fake_openai_server,
    prepare_sdk_client,
)
from tests.leaks import our_tasks

KEY = "gw-test-key-123"
UPSTREAM_KEY = "sk-upstream-secret-abcdef123456"
DEADLINE = 10


@attrs.define
class Routes:
    """Upstream model name -> a step (or steps, used in order), else an echo."""

    steps: dict[str, Step | list[Step]] = attrs.field(factory=dict)

    def __call__(self, request: RecordedRequest) -> Step:
        body = request.json if isinstance(request.json, dict) else {}
        model = str(body.get("model"))
        step = self.steps.get(model, Reply(text=f"echo: {last_user_text(request)}"))
        if isinstance(step, list):
            return step.pop(0) if len(step) > 1 else step[0]
        return step


@pytest.fixture
def routes() -> Routes:
    return Routes()


@pytest.fixture
async def upstream(routes: Routes) -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server(routes, api_key=UPSTREAM_KEY) as fake:
        yield fake


def gateway_config(upstream: FakeOpenAIServer, **changes: object) -> GatewayConfig:
    def route(model: str) -> ModelRoute:
        return ModelRoute(
            provider="openai-compatible",
            model=model,
            options={"base_url": upstream.base_url, "api_key": UPSTREAM_KEY, "max_retries": 0},
        )

    config = GatewayConfig(
        models={name: route(name) for name in ("gpt-test", "slow", "fast")},
        aliases={"default": "gpt-test"},
        api_key_hashes=[hash_key(KEY)],
        passthrough=False,
        body_limit=64 * 1024,
    )
    return attrs.evolve(config, **changes)  # type: ignore[arg-type]


@pytest.fixture
def config(upstream: FakeOpenAIServer) -> GatewayConfig:
    return gateway_config(upstream)


@pytest.fixture
def runtime_env() -> dict[str, str]:
    """The runtime's environment: none (no provider key), unless a module says."""
    return {}


@pytest.fixture
async def rt(runtime_env: dict[str, str]) -> AsyncIterator[Runtime]:
    async with open_runtime(env=runtime_env) as runtime:
        yield runtime
    assert our_tasks() == []


def passthrough_env(upstream: FakeOpenAIServer) -> dict[str, str]:
    """An environment whose openai provider is the fake upstream: passthrough
    names like "openai/gpt-4o" reach it."""
    return {"OPENAI_API_KEY": UPSTREAM_KEY, "OPENAI_BASE_URL": upstream.base_url}


@asynccontextmanager
async def serving(rt: Runtime, config: GatewayConfig | None) -> AsyncIterator[int]:
    """A gateway on a free port of 127.0.0.1 for the block; yields the port."""
    async with trio.open_nursery() as nursery:
        bound: int = await nursery.start(functools.partial(serve, rt, config, port=0))
        yield bound
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def sdk_client(port: int, key: str = KEY) -> AsyncIterator[openai.AsyncOpenAI]:
    """The real openai SDK pointed at the gateway on `port`."""
    sdk = openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=DEADLINE
    )
    prepare_sdk_client(sdk)
    async with sdk:
        yield sdk


@asynccontextmanager
async def http_client(port: int, key: str = KEY) -> AsyncIterator[httpx.AsyncClient]:
    """httpx pointed at the gateway on `port`, with the bearer key."""
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=DEADLINE
    ) as c:
        yield c


@pytest.fixture
async def port(rt: Runtime, config: GatewayConfig) -> AsyncIterator[int]:
    async with serving(rt, config) as bound:
        yield bound


@pytest.fixture
async def client(port: int) -> AsyncIterator[openai.AsyncOpenAI]:
    async with sdk_client(port) as sdk:
        yield sdk


@pytest.fixture
async def http(port: int) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(port) as c:
        yield c


def chat(model: str = "gpt-test", text: str = "hello there", **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str)
    return error  # type: ignore[no-any-return]
