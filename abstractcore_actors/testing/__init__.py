"""Fake wire servers for tests: real HTTP on 127.0.0.1 speaking the OpenAI and
Anthropic protocols, with scripted replies, latency and faults. See docs/testing.md.

    async with open_fake_openai_server([Reply(text="Hi!")]) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test")
        ...
        assert server.open_connections == 0
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from ._anthropic import FakeAnthropicServer as FakeAnthropicServer
from ._http import FakeServer as FakeServer
from ._openai import FakeOpenAIServer as FakeOpenAIServer
from ._script import FakeToolCall as FakeToolCall
from ._script import FakeUsage as FakeUsage
from ._script import Fault as Fault
from ._script import RecordedRequest as RecordedRequest
from ._script import Reply as Reply
from ._script import Script as Script
from ._script import Step as Step
from ._script import last_user_text as last_user_text


@asynccontextmanager
async def _serving(server: FakeServer) -> AsyncIterator[FakeServer]:
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()


@asynccontextmanager
async def open_fake_openai_server(
    script: Script = (), *, default: Step | None = None, api_key: str | None = None
) -> AsyncIterator[FakeOpenAIServer]:
    """Serve the OpenAI protocol on 127.0.0.1 for the duration of the block.

    `script`: replies/faults consumed in order by chat requests, or a function
    of the request. `default` answers once the script is used up (default: an
    echo of the last user message). `api_key`: when set, other keys get a 401.
    Leaving the block closes every connection.
    """
    server = FakeOpenAIServer(script, default, api_key)
    async with _serving(server):
        yield server


@asynccontextmanager
async def open_fake_anthropic_server(
    script: Script = (), *, default: Step | None = None, api_key: str | None = None
) -> AsyncIterator[FakeAnthropicServer]:
    """Serve the Anthropic Messages protocol on 127.0.0.1 for the duration of the block."""
    server = FakeAnthropicServer(script, default, api_key)
    async with _serving(server):
        yield server
