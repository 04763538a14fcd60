"""WebSocket /v1/events with a real client (trio-websocket) while the real openai
SDK drives requests through the gateway to a fake upstream."""

from __future__ import annotations

import functools
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import openai
import pytest
import trio
import trio_websocket

from abstractcore_actors import Runtime
from abstractcore_actors.server import GatewayConfig, serve
from abstractcore_actors.testing import Reply
from tests.leaks import live_tasks

from .conftest import DEADLINE, KEY, Routes, chat

Event = dict[str, Any]


def _headers(key: str | None) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {key}".encode())] if key else []


@asynccontextmanager
async def events_socket(
    port: int, key: str | None = KEY, **query: str
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    resource = "/v1/events" + (f"?{urlencode(query)}" if query else "")
    async with trio_websocket.open_websocket(
        "127.0.0.1", port, resource, use_ssl=False, extra_headers=_headers(key)
    ) as ws:
        yield ws


async def receive(ws: trio_websocket.WebSocketConnection) -> Event:
    data = json.loads(await ws.get_message())
    assert isinstance(data, dict)
    return data


async def subscribed(ws: trio_websocket.WebSocketConnection) -> Event:
    hello = await receive(ws)
    assert hello["type"] == "subscribed", hello
    return hello


async def collect_until(
    ws: trio_websocket.WebSocketConnection, done: Callable[[Event], bool]
) -> list[Event]:
    found = []
    while True:
        event = await receive(ws)
        found.append(event)
        if done(event):
            return found


def completed(event: Event) -> bool:
    return event["type"] == "generation.completed"


def ours() -> list[trio.lowlevel.Task]:
    """Live tasks of the events endpoint (its per-socket watchers)."""
    return [t for t in live_tasks() if "_events_ws" in t.coro.cr_code.co_filename]


async def test_the_events_of_a_request_arrive_in_order(
    port: int, client: openai.AsyncOpenAI, routes: Routes
) -> None:
    routes.steps["gpt-test"] = Reply(text="one two three four")
    with trio.fail_after(DEADLINE):
        async with events_socket(port, request_id="req-order-1") as ws:
            hello = await subscribed(ws)
            assert hello["filters"]["request_id"] == ["req-order-1"]
            stream = await client.chat.completions.create(
                model="gpt-test",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                extra_headers={"X-Request-Id": "req-order-1"},
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            events = await collect_until(ws, completed)
    assert text == "one two three four"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {e["request_id"] for e in events} == {"req-order-1"}
    kinds = [e["type"] for e in events]
    assert kinds[0] == "generation.started" and kinds[1] == "generation.first_token"
    assert kinds[-1] == "generation.completed"
    assert "".join(e["text"] for e in events if e["type"] == "generation.chunk") == text
    assert events[-1]["completion_tokens"] == 4 and events[-1]["dropped"] == 0


async def test_filters_select_by_request_type_and_model(
    port: int, client: openai.AsyncOpenAI
) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            events_socket(port, type="generation.completed,cancelled", model="fast") as by_model,
            events_socket(port, request_id="req-b") as by_id,
        ):
            await subscribed(by_model)
            await subscribed(by_id)
            for model, rid in (("gpt-test", "req-a"), ("fast", "req-b"), ("fast", "req-c")):
                await client.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": "hi"}],
                    extra_headers={"X-Request-Id": rid},
                )
            model_events = [await receive(by_model), await receive(by_model)]
            id_events = await collect_until(by_id, completed)
    assert [(e["request_id"], e["type"]) for e in model_events] == [
        ("req-b", "generation.completed"),
        ("req-c", "generation.completed"),
    ]
    assert {e["request_id"] for e in id_events} == {"req-b"}
    assert {e["model"] for e in id_events} == {"fast"}


async def test_a_race_is_followed_through_its_contenders(
    port: int, client: openai.AsyncOpenAI, routes: Routes
) -> None:
    routes.steps["slow"] = Reply(text="slow " * 50, ttft=2)
    routes.steps["fast"] = Reply(text="quick answer")
    with trio.fail_after(DEADLINE):
        async with events_socket(port, request_id="race-1") as ws:
            await subscribed(ws)
            raw = await client.chat.completions.with_raw_response.create(
                model="race:slow,fast",
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"X-Request-Id": "race-1"},
            )
            events = await collect_until(ws, lambda e: e["type"] == "cancelled")
            assert raw.headers["x-request-id"] == "race-1"
            assert raw.parse().choices[0].message.content == "quick answer"
    started = {e["request_id"]: e["model"] for e in events if e["type"] == "generation.started"}
    assert started == {"race-1/0": "slow", "race-1/1": "fast"}
    done = [e["request_id"] for e in events if completed(e)]
    assert done == ["race-1/1"]
    assert events[-1]["request_id"] == "race-1/0"  # the loser was cancelled


async def test_a_key_is_required_and_a_wrong_one_is_refused(port: int) -> None:
    with trio.fail_after(DEADLINE):
        async with events_socket(port, key="wrong-key-xyz") as ws:
            with pytest.raises(trio_websocket.ConnectionClosed) as wrong:
                await ws.get_message()
        async with events_socket(port, key=None) as ws:
            await ws.send_message(json.dumps({"type": "hello"}))
            with pytest.raises(trio_websocket.ConnectionClosed) as missing:
                await ws.get_message()
    assert wrong.value.reason.code == 4401
    assert wrong.value.reason.reason == "invalid API key"
    assert missing.value.reason.code == 4401
    reason = missing.value.reason.reason or ""
    assert "Authorization: Bearer" in reason and '"auth"' in reason


async def test_a_browser_authenticates_with_its_first_message(
    port: int, client: openai.AsyncOpenAI
) -> None:
    with trio.fail_after(DEADLINE):
        async with events_socket(port, key=None, type="generation.completed") as ws:
            await ws.send_message(json.dumps({"type": "auth", "api_key": KEY}))
            await subscribed(ws)
            await client.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "hi"}]
            )
            assert (await receive(ws))["type"] == "generation.completed"
        async with events_socket(port, key=None) as ws:
            await ws.send_message(json.dumps({"type": "auth", "api_key": "nope-secret-1"}))
            with pytest.raises(trio_websocket.ConnectionClosed) as refused:
                await ws.get_message()
    assert refused.value.reason.code == 4401
    assert "nope-secret-1" not in (refused.value.reason.reason or "")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"type": "chunk"}, "unknown event type"),
        ({"colour": "red"}, "unknown parameter 'colour'"),
        ({"buffer": "0"}, "buffer must be"),
    ],
)
async def test_a_bad_query_closes_with_4400_saying_why(
    port: int, query: dict[str, str], words: str
) -> None:
    with trio.fail_after(DEADLINE):
        async with events_socket(port, **query) as ws:
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await ws.get_message()
    assert closed.value.reason.code == 4400
    assert words in (closed.value.reason.reason or "")


async def test_another_path_is_refused_at_the_handshake(port: int) -> None:
    with trio.fail_after(DEADLINE), pytest.raises(trio_websocket.ConnectionRejected):
        async with trio_websocket.open_websocket(
            "127.0.0.1", port, "/v1/other", use_ssl=False, extra_headers=_headers(KEY)
        ):
            pass


@asynccontextmanager
async def slow_socket(
    port: int, resource: str
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    # A tiny receive window: once the client stops reading, the server's
    # socket fills up after a few KB and its sends block, as with a slow
    # browser on a poor link.
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await sock.connect(("127.0.0.1", port))
    async with trio.open_nursery() as nursery:
        ws = await trio_websocket.wrap_client_stream(
            nursery,
            trio.SocketStream(sock),
            "127.0.0.1",
            resource,
            extra_headers=_headers(KEY),
            receive_buffer_size=1024,
        )
        try:
            yield ws
        finally:
            await ws.aclose()


async def test_a_slow_client_gets_drop_counts_and_never_stalls_a_stream(
    port: int, client: openai.AsyncOpenAI, routes: Routes
) -> None:
    words = 1500
    routes.steps["gpt-test"] = Reply(text="lorem-ipsum-dolor-sit-amet " * words)
    with trio.fail_after(DEADLINE * 2):
        async with slow_socket(port, "/v1/events?request_id=slow-1&buffer=8") as ws:
            await subscribed(ws)
            # the client reads nothing while the whole answer streams
            stream = await client.chat.completions.create(
                model="gpt-test",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                extra_headers={"X-Request-Id": "slow-1"},
            )
            pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            assert "".join(pieces).count("lorem") == words
            events = await collect_until(ws, completed)
    last_seq = events[-1]["seq"]
    assert last_seq >= words + 3  # started, first token, a chunk a word, completed
    dropped = sum(e["dropped"] for e in events)
    assert dropped > 0
    assert len(events) + dropped == last_seq  # every event arrived or was counted
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)


async def test_closing_the_socket_leaves_nothing_running(
    port: int, rt: Runtime, client: openai.AsyncOpenAI
) -> None:
    with trio.fail_after(DEADLINE):
        for _ in range(3):
            async with events_socket(port) as ws:
                await subscribed(ws)
                assert len(ours()) == 2 and len(rt.events.subscriptions) == 1
        # the server ends its side on its own schedule: poll, bounded by fail_after
        while ours() or rt.events.subscriptions:  # noqa: ASYNC110
            await trio.sleep(0.01)
        # the gateway still answers, and a new socket still works
        await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}]
        )


async def test_a_graceful_shutdown_closes_event_sockets_with_1001(
    rt: Runtime, config: GatewayConfig
) -> None:
    stop = trio.Event()
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(functools.partial(serve, rt, config, port=0, shutdown=stop))
            async with events_socket(port) as ws:
                await subscribed(ws)
                started = trio.current_time()
                stop.set()
                with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                    await ws.get_message()
        # well before the server's graceful timeout (grace + 2 s)
        assert trio.current_time() - started < 2
    assert closed.value.reason.code == 1001
    assert ours() == [] and rt.events.subscriptions == []


async def test_the_runtime_closing_its_bus_closes_event_sockets(port: int, rt: Runtime) -> None:
    with trio.fail_after(DEADLINE):
        async with events_socket(port) as ws:
            await subscribed(ws)
            rt.events.close()
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await ws.get_message()
    assert closed.value.reason.code == 1001


async def test_x_request_id_is_used_echoed_or_refused(http: httpx.AsyncClient) -> None:
    with trio.fail_after(DEADLINE):
        mine = await http.post(
            "/v1/chat/completions", json=chat(), headers={"x-request-id": "a.b:c-1_2"}
        )
        made = await http.post("/v1/chat/completions", json=chat(stream=True))
        bad = [
            await http.post("/v1/chat/completions", json=chat(), headers={"x-request-id": value})
            for value in ("has/slash", "x" * 65, "spa ce", "")
        ]
    assert mine.status_code == 200 and mine.headers["x-request-id"] == "a.b:c-1_2"
    assert made.status_code == 200 and made.headers["x-request-id"].startswith("gw-")
    for response in bad:
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_request_id"
        assert "X-Request-Id" in error["message"]
