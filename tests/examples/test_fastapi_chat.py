"""examples/fastapi_chat.py on Hypercorn's trio worker, driven for real: SSE
and WebSocket answers from the fake OpenAI upstream, and the upstream call
cancelled (its connection closed) when the client goes away or says stop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio
import trio_websocket
from hypercorn.config import Config
from hypercorn.trio import serve

from abstractcore_actors.testing import FakeOpenAIServer, Reply
from tests.examples.apps import free_port, load_example, upstream
from tests.server.test_console import NEEDS_CHROMIUM, in_browser, open_page, upstream_settles

DEADLINE = 20
__all__ = ["upstream"]  # the fixture
LONG = Reply(text="word " * 400, token_latency=0.02)  # 8 s in all


@pytest.fixture
async def port(upstream: FakeOpenAIServer) -> AsyncIterator[int]:
    app = load_example("fastapi_chat").make_app(
        "openai-compatible", "m", base_url=upstream.base_url
    )
    bound = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{bound}"]
    config.accesslog = config.errorlog = None
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
        with trio.fail_after(DEADLINE):
            while True:
                try:
                    await (await trio.open_tcp_stream("127.0.0.1", bound)).aclose()
                    break
                except OSError:
                    await trio.sleep(0.02)
        yield bound
        stop.set()


async def closed(upstream: FakeOpenAIServer) -> None:
    """Until the upstream has no open connection (the model call was cancelled)."""
    while upstream.open_connections:  # noqa: ASYNC110 - the fake server's counter
        await trio.sleep(0.02)


async def test_sse_streams_the_answer_and_a_leaving_client_cancels_the_call(
    port: int, upstream: FakeOpenAIServer
) -> None:
    upstream.push(Reply(chunks=["Hello", " there"]), LONG)
    base = f"http://127.0.0.1:{port}"
    with trio.fail_after(DEADLINE):
        async with httpx.AsyncClient(base_url=base) as http:
            page = await http.get("/")
            frames = []
            async with http.stream("GET", "/chat/sse", params={"prompt": "hi"}) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        frames.append(line[6:])
            async with http.stream("GET", "/chat/sse", params={"prompt": "long"}) as response:
                seen = 0
                async for line in response.aiter_lines():
                    seen += line.startswith("data: ")
                    if seen == 3:
                        break  # the client leaves mid-answer
            await closed(upstream)
    assert "EventSource" in page.text
    assert [json.loads(f)["text"] for f in frames[:-1]] == ["Hello", " there"]
    assert frames[-1] == "[DONE]"
    assert upstream.open_connections == 0 and len(upstream.requests) == 2


async def test_websocket_answers_stops_and_a_disconnect_cancels(
    port: int, upstream: FakeOpenAIServer
) -> None:
    upstream.push(Reply(chunks=["a", "b"]), LONG, LONG)
    with trio.fail_after(DEADLINE):
        async with trio_websocket.open_websocket(
            "127.0.0.1", port, "/chat/ws", use_ssl=False
        ) as ws:
            await ws.send_message(json.dumps({"prompt": "hi"}))
            answer = []
            while True:
                message = json.loads(await ws.get_message())
                if message.get("done"):
                    break
                answer.append(message["text"])
            await ws.send_message(json.dumps({"prompt": "long"}))
            json.loads(await ws.get_message())  # it is answering
            await ws.send_message(json.dumps({"stop": True}))
            while not json.loads(await ws.get_message()).get("stopped"):
                pass
            await closed(upstream)
            await ws.send_message(json.dumps({"prompt": "long again"}))
            json.loads(await ws.get_message())
        await closed(upstream)  # the socket closed mid-answer: the call is gone too
    assert answer == ["a", "b"]
    assert len(upstream.requests) == 3


@NEEDS_CHROMIUM
async def test_a_browser_reads_the_stream_and_stop_closes_the_upstream_call(
    port: int, upstream: FakeOpenAIServer
) -> None:
    upstream.push(Reply(chunks=["Hi ", "from ", "trio"]), LONG)

    def drive(url: str) -> dict[str, Any]:
        from playwright.sync_api import expect

        with open_page(url) as (page, errors):
            page.fill("#prompt", "hello")
            page.click("#send")
            expect(page.locator("#answer")).to_have_attribute("data-state", "done")
            first = page.text_content("#answer")
            page.fill("#prompt", "a long one")
            page.click("#send")
            expect(page.locator("#answer")).to_contain_text("word word word")
            page.click("#stop")
            settled = upstream_settles(upstream, lambda u: u.open_connections == 0)
            return {"first": first, "settled": settled, "errors": errors}

    seen = await in_browser(drive, port)
    assert seen["errors"] == []
    assert seen["first"] == "Hi from trio"
    assert seen["settled"]["open"] == 0 and seen["settled"]["requests"] == 2
