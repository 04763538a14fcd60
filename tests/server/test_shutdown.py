"""Graceful shutdown: draining (503), in-flight streams finish within the grace,
and past it they are cut with a final error and every upstream connection closes."""

from __future__ import annotations

import functools

import httpx
import openai
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.server import make_app, serve
from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply, prepare_sdk_client

from .conftest import DEADLINE, KEY, Routes, chat, gateway_config

MESSAGES = [{"role": "user", "content": "hi"}]


async def _shutdown_during_stream(
    rt: Runtime, upstream: FakeOpenAIServer, grace: float
) -> tuple[str, BaseException | None, bool]:
    """Stream "fast" through a gateway, set its shutdown after the first token;
    returns the streamed text, the SDK's error if any, and whether a new
    connection was refused."""
    config = gateway_config(upstream, shutdown_grace=grace)
    stop = trio.Event()
    text: list[str] = []
    error: BaseException | None = None
    refused = False
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(functools.partial(serve, rt, config, port=0, shutdown=stop))
        base = f"http://127.0.0.1:{bound}"
        sdk = openai.AsyncOpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0, timeout=20)
        prepare_sdk_client(sdk)
        async with sdk:
            stream = await sdk.chat.completions.create(
                model="fast",
                messages=MESSAGES,  # type: ignore[arg-type]
                stream=True,
            )
            try:
                async for chunk in stream:
                    content = chunk.choices[0].delta.content if chunk.choices else None
                    if content and not stop.is_set():
                        stop.set()
                        await trio.sleep(0.2)  # the server closes its listener
                        try:
                            async with httpx.AsyncClient(base_url=base) as fresh:
                                response = await fresh.get("/health")
                            refused = response.status_code == 503
                        except httpx.ConnectError:
                            refused = True
                    text.append(content or "")
            except openai.APIError as exc:
                error = exc
    # leaving the nursery waited for serve() to return: the server is done
    return "".join(text), error, refused


async def test_an_in_flight_stream_finishes_within_the_grace(
    rt: Runtime, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["fast"] = Reply(text="one two three four five", token_latency=0.1)
    with trio.fail_after(DEADLINE):
        text, error, refused = await _shutdown_during_stream(rt, upstream, grace=5)
    assert error is None
    assert text == "one two three four five"
    assert refused


async def test_past_the_grace_a_stream_is_cut_and_upstream_closed(
    rt: Runtime, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["fast"] = Reply(text="word " * 200, token_latency=0.05)  # 10 s in all
    with trio.fail_after(DEADLINE):
        start = trio.current_time()
        text, error, refused = await _shutdown_during_stream(rt, upstream, grace=0.5)
        took = trio.current_time() - start
        await upstream.wait_for_connections(0)
    assert refused
    assert isinstance(error, openai.APIError)
    assert "shutting down" in str(error)
    assert 0 < text.count("word") < 200
    assert took < 4  # the grace and the backstop, not the whole 10 s answer
    assert upstream.active_requests == 0


async def test_a_draining_app_answers_503(rt: Runtime, upstream: FakeOpenAIServer) -> None:
    app = make_app(rt, gateway_config(upstream))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    headers = {"authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway", headers=headers
    ) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        app.start_draining(1.0)
        health = await http.get("/health")
        chat_reply = await http.post("/v1/chat/completions", json=chat())
    assert health.status_code == 503 and health.json() == {"status": "draining"}
    assert chat_reply.status_code == 503
    assert chat_reply.json()["error"]["code"] == "server_shutting_down"
    assert chat_reply.headers["retry-after"] == "1"


def test_cli_grace_must_be_non_negative() -> None:
    from abstractcore_actors.cli import main

    assert main(["serve", "--grace", "-1", "--port", "0"]) == 2


@pytest.mark.parametrize("grace", [0.0, 2.5])
def test_config_grace_is_kept(grace: float) -> None:
    from abstractcore_actors.server import GatewayConfig

    assert GatewayConfig(shutdown_grace=grace).shutdown_grace == grace


async def test_past_the_grace_an_embedding_is_cut_with_a_503_and_upstream_closed(
    rt: Runtime, upstream: FakeOpenAIServer
) -> None:
    upstream.push_embedding(Fault.stall(30))
    app = make_app(rt, gateway_config(upstream))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    headers = {"authorization": f"Bearer {KEY}"}
    answers: list[httpx.Response] = []
    with trio.fail_after(DEADLINE):
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://gw", headers=headers) as http,
            trio.open_nursery() as nursery,
        ):

            async def ask() -> None:
                body = {"model": "gpt-test", "input": "a"}
                answers.append(await http.post("/v1/embeddings", json=body))

            nursery.start_soon(ask)
            await upstream.wait_for_connections(1)  # the upstream call is under way
            start = trio.current_time()
            app.start_draining(0.3)
        took = trio.current_time() - start
        await upstream.wait_for_connections(0)
    [answer] = answers
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "server_shutting_down"
    assert 0.3 <= took < 3  # the grace, not the 30 s stall
    assert upstream.active_requests == 0
