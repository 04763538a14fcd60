"""A client that goes away cancels the upstream call at once."""

from __future__ import annotations

import httpx
import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer, Reply

from .conftest import DEADLINE, Routes, chat

LONG = Reply(text="word " * 200, token_latency=0.05)


async def test_leaving_a_stream_closes_the_upstream_connection(
    http: httpx.AsyncClient, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["gpt-test"] = LONG
    with trio.fail_after(DEADLINE):
        async with http.stream("POST", "/v1/chat/completions", json=chat(stream=True)) as s:
            assert s.status_code == 200
            async for line in s.aiter_lines():
                if '"content":"word' in line:
                    break
        assert upstream.open_connections == 1
    # leaving the block closed our connection; the gateway sees the disconnect
    with trio.fail_after(2):  # far less than the 10 s the whole answer takes
        await upstream.wait_for_connections(0)
    assert upstream.active_requests == 0


async def test_leaving_a_whole_answer_closes_the_upstream_connection(
    http: httpx.AsyncClient, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["gpt-test"] = Reply(text="late", ttft=30)
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:

            async def ask() -> None:
                await http.post("/v1/chat/completions", json=chat())

            nursery.start_soon(ask)
            await upstream.wait_for_connections(1)  # the upstream call is under way
            nursery.cancel_scope.cancel()
    with trio.fail_after(2):
        await upstream.wait_for_connections(0)


async def test_a_race_stream_left_early_closes_every_upstream_connection(
    http: httpx.AsyncClient, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["slow"] = Reply(text="slow " * 100, ttft=0.5, token_latency=0.05)
    routes.steps["fast"] = LONG
    body = chat("race:slow,fast", stream=True)
    with trio.fail_after(DEADLINE):
        async with http.stream("POST", "/v1/chat/completions", json=body) as s:
            async for line in s.aiter_lines():
                if '"content":"word' in line:
                    break
    with trio.fail_after(2):
        await upstream.wait_for_connections(0)


@pytest.mark.parametrize(
    ("path", "body", "marker"),
    [
        (
            "/v1/messages",
            {
                "model": "gpt-test",
                "max_tokens": 999,
                "stream": True,
                "messages": [{"role": "user", "content": "hi"}],
            },
            "text_delta",
        ),
        (
            "/v1/responses",
            {"model": "gpt-test", "input": "hi", "stream": True},
            "output_text.delta",
        ),
    ],
)
async def test_leaving_a_messages_or_responses_stream_closes_the_upstream(
    http: httpx.AsyncClient,
    routes: Routes,
    upstream: FakeOpenAIServer,
    path: str,
    body: dict[str, object],
    marker: str,
) -> None:
    routes.steps["gpt-test"] = LONG
    with trio.fail_after(DEADLINE):
        async with http.stream("POST", path, json=body) as s:
            assert s.status_code == 200
            async for line in s.aiter_lines():
                if marker in line:
                    break
    with trio.fail_after(2):
        await upstream.wait_for_connections(0)
    assert upstream.active_requests == 0
