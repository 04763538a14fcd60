"""Fake wire servers for tests: real HTTP/1.1 on 127.0.0.1 speaking the OpenAI
and Anthropic protocols (JSON and SSE), with scripted replies, latency and
faults; and a real redis-server runner (`running_redis`). See docs/testing.md.

    async with open_fake_openai_server([Reply(text="Hi!")]) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test")
        ...
    # leaving the block closed every connection
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from .._providers import preset_sdk_platform as _preset_sdk_platform
from ._anthropic import FakeAnthropicServer as FakeAnthropicServer
from ._http import FakeServer as FakeServer
from ._openai import FakeOpenAIServer as FakeOpenAIServer
from ._redis import REDIS as REDIS_SERVER
from ._redis import RedisProcess as RedisProcess
from ._redis import running_redis as running_redis
from ._script import FakeToolCall as FakeToolCall
from ._script import FakeUsage as FakeUsage
from ._script import Fault as Fault
from ._script import RecordedRequest as RecordedRequest
from ._script import Reply as Reply
from ._script import Script as Script
from ._script import Step as Step
from ._script import last_user_text as last_user_text

__all__ = [
    "REDIS_SERVER",
    "FakeAnthropicServer",
    "FakeOpenAIServer",
    "FakeServer",
    "FakeToolCall",
    "FakeUsage",
    "Fault",
    "RecordedRequest",
    "RedisProcess",
    "Reply",
    "Script",
    "Step",
    "last_user_text",
    "open_fake_anthropic_server",
    "open_fake_openai_server",
    "prepare_sdk_client",
    "running_redis",
]


def prepare_sdk_client(client: object) -> None:
    """Ready an `openai`/`anthropic` SDK client for a test under trio's MockClock.

    Both SDKs compute their platform headers in a worker thread on the first
    request; with an autojumping clock, that thread makes trio skip ahead
    past every deadline. This fills the SDK's cache now, as the provider
    actors do for their own clients. Other objects are left alone.
    """
    module = type(client).__module__.split(".", 1)[0]
    if module in ("openai", "anthropic"):
        _preset_sdk_platform(client, f"{module}._base_client")


@asynccontextmanager
async def _serving(server: FakeServer) -> AsyncIterator[None]:
    # The server lives in a nursery of the caller's task: an exception in a
    # connection task (a script function that raises, say) fails the caller's
    # block instead of vanishing, and leaving the block cancels every task.
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        try:
            yield
        finally:
            nursery.cancel_scope.cancel()


@asynccontextmanager
async def open_fake_openai_server(
    script: Script = (),
    *,
    default: Step | None = None,
    api_key: str | None = None,
    host: str = "127.0.0.1",
) -> AsyncIterator[FakeOpenAIServer]:
    """Serve the OpenAI protocol on `host` (a free port) for the duration of the block.

    `script`: replies and faults consumed in order, one per chat request, or a
    sync function of the `RecordedRequest`. `default` answers once the
    sequence is used up (default: `Reply(text="echo: " + last user message)`).
    `api_key`: when set, a request without `Authorization: Bearer <api_key>`
    gets a 401 in OpenAI's error shape. Yields the server once it listens;
    its `base_url` ends in `/v1`. Leaving the block (normally, by an error or
    by cancellation) stops the server and closes every connection; an
    exception raised by a script function propagates out of the block.
    """
    server = FakeOpenAIServer(script, default, api_key, host)
    async with _serving(server):
        yield server


@asynccontextmanager
async def open_fake_anthropic_server(
    script: Script = (),
    *,
    default: Step | None = None,
    api_key: str | None = None,
    host: str = "127.0.0.1",
) -> AsyncIterator[FakeAnthropicServer]:
    """Serve the Anthropic Messages protocol on `host` (a free port) for the block.

    As `open_fake_openai_server`; `api_key` is checked against `x-api-key`
    or `Authorization: Bearer` (the SDK sends the latter), and `base_url`
    has no `/v1` because `AsyncAnthropic` appends `/v1/messages` itself.
    """
    server = FakeAnthropicServer(script, default, api_key, host)
    async with _serving(server):
        yield server
