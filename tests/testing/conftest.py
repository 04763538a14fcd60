"""Helpers for the fake wire server tests: request bodies, SSE parsing, SDK clients.

Timing tests take pytest-trio's own `autojump_clock` fixture (a
`trio.testing.MockClock(autojump_threshold=0)` that pytest-trio hands to
`trio.run` when a test asks for it), so a 30-second stall costs no real time.
On loopback a send is readable at the peer before it returns, so the clock
never jumps while bytes are still in flight.
"""

from __future__ import annotations

import json

import anthropic
import openai
import trio.testing

from abstractcore_actors.testing import FakeAnthropicServer, FakeOpenAIServer

#: the deadline every test runs under (virtual seconds with a MockClock)
DEADLINE = 10

USER = [{"role": "user", "content": "hello there"}]
CHAT = {"model": "gpt-test", "messages": USER}
MESSAGES = {"model": "claude-test", "max_tokens": 50, "messages": USER}


def openai_client(server: FakeOpenAIServer, api_key: str = "sk-test") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key=api_key, max_retries=0)


def anthropic_client(
    server: FakeAnthropicServer, api_key: str = "test"
) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.base_url, api_key=api_key, max_retries=0)


async def warm_up(
    client: openai.AsyncOpenAI | anthropic.AsyncAnthropic, clock: trio.testing.MockClock
) -> None:
    """Make `client`'s first request (a model list) with the clock's autojump held off.

    Each SDK client runs `get_platform()` in a worker thread on its first
    request. Meanwhile no trio task is runnable, so a MockClock with
    autojump_threshold=0 would jump straight to the next deadline — the
    test's own `fail_after`. A threshold of one real second lets the thread
    finish first; later requests use no thread.
    """
    clock.autojump_threshold = 1.0
    try:
        await client.models.list()
    finally:
        clock.autojump_threshold = 0


def sse_data(text: str) -> list[str]:
    """The `data:` payloads of an SSE body, in order."""
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


def sse_events(text: str) -> list[tuple[str, dict[str, object]]]:
    """The (event name, parsed data) pairs of a named-event SSE body."""
    out = []
    for frame in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" in lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out
