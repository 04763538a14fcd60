"""Chunks that arrive while a write to the client is under way leave together,
in order, in the next write (one ASGI message, one h11 event, one send())."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.server import make_app
from abstractcore_actors.testing import FakeOpenAIServer, Reply

from .conftest import KEY, Routes, chat, gateway_config

WORDS = [f"w{i} " for i in range(40)]


def scope_for(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {KEY}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


def texts(data: bytes) -> list[str]:
    """The content deltas of the SSE frames in `data`."""
    found = []
    for line in data.split(b"\n\n"):
        if not line.startswith(b"data: {"):
            continue
        frame = json.loads(line[len(b"data: ") :])
        for choice in frame.get("choices", ()):
            if choice["delta"].get("content"):
                found.append(choice["delta"]["content"])
    return found


@pytest.mark.parametrize("model", ["gpt-test", "race:gpt-test,slow"])
async def test_a_slow_write_sends_the_chunks_that_came_meanwhile_together(
    rt: Runtime, upstream: FakeOpenAIServer, routes: Routes, model: str
) -> None:
    routes.steps["gpt-test"] = Reply(chunks=WORDS)
    routes.steps["slow"] = Reply(text="late", ttft=5)  # a race's loser
    app = make_app(rt, gateway_config(upstream))
    request = json.dumps(chat(model, stream=True)).encode()
    bodies: list[bytes] = []
    read = False

    async def receive() -> dict[str, Any]:
        nonlocal read
        if not read:
            read = True
            return {"type": "http.request", "body": request, "more_body": False}
        await trio.sleep_forever()  # the client stays until the answer ends
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            bodies.append(message["body"])
            if len(bodies) == 1:
                await trio.sleep(0.2)  # a slow client: the upstream runs ahead

    with trio.fail_after(10):
        await app(scope_for(request), receive, send)  # type: ignore[arg-type]
    whole = b"".join(bodies)
    assert texts(whole) == WORDS  # every chunk, once, in order
    assert whole.endswith(b"data: [DONE]\n\n")
    # the chunks that arrived during the slow first write left in few writes
    assert max(len(texts(b)) for b in bodies) >= 2
    assert len(bodies) < len(WORDS)
    assert upstream.active_requests == 0
