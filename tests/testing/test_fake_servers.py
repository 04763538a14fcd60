"""The fake wire servers themselves, checked on the wire with plain httpx."""

from __future__ import annotations

import json

import httpx
import pytest
import trio
import trio.testing

from abstractcore_actors.testing import (
    FakeToolCall,
    Fault,
    Reply,
    open_fake_anthropic_server,
    open_fake_openai_server,
)

CHAT = {"model": "gpt-test", "messages": [{"role": "user", "content": "hello there"}]}


def sse_data(text: str) -> list[str]:
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


async def test_openai_sse_follows_the_documented_format() -> None:
    async with open_fake_openai_server([Reply(chunks=["Hi", " you"])]) as server:
        body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{server.base_url}/chat/completions", json=body)
    assert response.headers["content-type"] == "text/event-stream"
    data = sse_data(response.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "Hi"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 2


async def test_openai_tool_call_arguments_arrive_in_pieces() -> None:
    reply = Reply(tool_calls=[FakeToolCall(name="f", arguments={"x": 1})])
    async with open_fake_openai_server([reply]) as server, httpx.AsyncClient() as client:
        response = await client.post(
            f"{server.base_url}/chat/completions", json={**CHAT, "stream": True}
        )
    deltas = [
        json.loads(d)["choices"][0]["delta"].get("tool_calls") for d in sse_data(response.text)[:-1]
    ]
    pieces = [d[0]["function"].get("arguments", "") for d in deltas if d]
    assert json.loads("".join(pieces)) == {"x": 1}


async def test_anthropic_events_come_in_the_documented_order() -> None:
    async with open_fake_anthropic_server([Reply(chunks=["a", "b"])]) as server:
        body = {"model": "claude-test", "max_tokens": 10, "stream": True, "messages": []}
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{server.base_url}/v1/messages", json=body)
    events = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert events == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


async def test_keep_alive_reuses_one_connection() -> None:
    async with open_fake_openai_server() as server, httpx.AsyncClient() as client:
        for _ in range(3):
            response = await client.post(f"{server.base_url}/chat/completions", json=CHAT)
            assert response.json()["choices"][0]["message"]["content"] == "echo: hello there"
        assert server.total_connections == 1
        assert len(server.requests) == 3


async def test_api_key_is_checked_when_set() -> None:
    async with (
        open_fake_openai_server(api_key="sk-right") as server,
        httpx.AsyncClient() as client,
    ):
        bad = await client.post(
            f"{server.base_url}/chat/completions",
            json=CHAT,
            headers={"Authorization": "Bearer sk-wrong"},
        )
        good = await client.post(
            f"{server.base_url}/chat/completions",
            json=CHAT,
            headers={"Authorization": "Bearer sk-right"},
        )
    assert bad.status_code == 401 and bad.json()["error"]["message"]
    assert good.status_code == 200


async def test_models_and_embeddings() -> None:
    async with open_fake_openai_server() as server, httpx.AsyncClient() as client:
        models = (await client.get(f"{server.base_url}/models")).json()
        first = await client.post(
            f"{server.base_url}/embeddings", json={"model": "e", "input": ["a", "b"]}
        )
        again = await client.post(
            f"{server.base_url}/embeddings", json={"model": "e", "input": "a"}
        )
        missing = await client.get(f"{server.base_url}/nowhere")
    assert models["data"][0]["id"] == "gpt-test"
    vectors = [d["embedding"] for d in first.json()["data"]]
    assert len(vectors) == 2 and len(vectors[0]) == 8
    assert again.json()["data"][0]["embedding"] == vectors[0]  # deterministic
    assert missing.status_code == 404


async def test_a_client_leaving_mid_wait_is_noticed_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    slow = Reply(chunks=["a"] * 10, token_latency=100)
    async with open_fake_openai_server([slow]) as server, httpx.AsyncClient() as client:
        request = client.build_request(
            "POST", f"{server.base_url}/chat/completions", json={**CHAT, "stream": True}
        )
        response = await client.send(request, stream=True)
        async for _ in response.aiter_lines():
            break
        assert server.active_requests == 1
        await response.aclose()
        start = trio.current_time()
        with trio.fail_after(1):
            await server.wait_for_connections(0)
        assert trio.current_time() - start < 1  # not at the next write, 100 s later
        assert server.active_requests == 0
        assert server.closed_connections == 1


@pytest.mark.parametrize("after", [0, 2])
async def test_truncate_ends_without_the_end_marker(after: int) -> None:
    script = [Fault.truncate(after_chunks=after)]
    async with open_fake_openai_server(script) as server, httpx.AsyncClient() as client:
        response = await client.post(
            f"{server.base_url}/chat/completions", json={**CHAT, "stream": True}
        )
    data = sse_data(response.text)
    assert "[DONE]" not in data
    assert len(data) == after
