"""StackPool: the O(1) connection pool under the OpenAI-compatible adapter.

Real HTTP on 127.0.0.1 against the fake OpenAI server; the server's own
connection counts prove that sockets are reused, and closed on cancel, on an
early close and on aclose.
"""

from __future__ import annotations

import socket

import httpx
import pytest
import trio
import trio.testing

from abstractcore_actors import open_runtime
from abstractcore_actors.providers._pool import StackPool
from abstractcore_actors.testing import (
    FakeOpenAIServer,
    RecordedRequest,
    Reply,
    open_fake_openai_server,
)

BODY = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}


def _client(pool: StackPool) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=pool, timeout=30)


async def _burst(client: httpx.AsyncClient, url: str, calls: int) -> list[int]:
    statuses: list[int] = []

    async def one() -> None:
        statuses.append((await client.post(url, json=BODY)).status_code)

    async with trio.open_nursery() as nursery:
        for _ in range(calls):
            nursery.start_soon(one)
    return statuses


async def test_sequential_calls_reuse_one_connection(
    openai_server: FakeOpenAIServer, autojump_clock: trio.testing.MockClock
) -> None:
    pool = StackPool(max_keepalive=4)
    url = f"{openai_server.base_url}/chat/completions"
    async with _client(pool) as client:
        for _ in range(5):
            response = await client.post(url, json=BODY)
            assert response.json()["choices"][0]["message"]["content"] == "echo: Hi"
        assert openai_server.total_connections == 1
        assert pool.open_connections == pool.idle_connections == 1
    assert pool.open_connections == 0
    with trio.fail_after(5):
        await openai_server.wait_for_connections(0)


async def test_a_second_burst_reuses_every_connection_of_the_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_fake_openai_server(default=Reply(text="ok", ttft=0.5)) as server:
        pool = StackPool(max_keepalive=20)
        url = f"{server.base_url}/chat/completions"
        async with _client(pool) as client:
            assert await _burst(client, url, 20) == [200] * 20
            assert server.total_connections == 20
            assert await _burst(client, url, 20) == [200] * 20
            assert server.total_connections == 20  # not one new socket
            assert pool.idle_connections == 20
        with trio.fail_after(5):
            await server.wait_for_connections(0)


async def test_idle_connections_beyond_max_keepalive_are_closed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_fake_openai_server(default=Reply(text="ok", ttft=0.5)) as server:
        pool = StackPool(max_keepalive=2)
        url = f"{server.base_url}/chat/completions"
        async with _client(pool) as client:
            assert await _burst(client, url, 6) == [200] * 6
            assert pool.idle_connections == pool.open_connections == 2
            with trio.fail_after(5):
                await server.wait_for_connections(2)


async def test_a_cancelled_request_closes_its_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_fake_openai_server(default=Reply(text="ok", ttft=10)) as server:
        pool = StackPool(max_keepalive=4)
        url = f"{server.base_url}/chat/completions"
        async with _client(pool) as client:
            with trio.move_on_after(1) as scope:
                await _burst(client, url, 3)
            assert scope.cancelled_caught
            assert pool.open_connections == 0
            with trio.fail_after(5):
                await server.wait_for_connections(0)
            assert server.total_connections == 3


async def test_a_stream_closed_early_closes_its_connection_instead_of_reusing_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    reply = Reply(chunks=["a", "b", "c", "d"], ttft=0.1, token_latency=1.0)
    async with open_fake_openai_server(default=reply) as server:
        pool = StackPool(max_keepalive=4)
        url = f"{server.base_url}/chat/completions"
        async with _client(pool) as client:
            async with client.stream("POST", url, json={**BODY, "stream": True}) as response:
                async for _ in response.aiter_lines():
                    break  # leave after the first line: the rest is unread
            assert pool.open_connections == pool.idle_connections == 0
            with trio.fail_after(5):
                await server.wait_for_connections(0)
            # and the pool still serves the next request, on a new socket
            async with client.stream("POST", url, json={**BODY, "stream": True}) as response:
                lines = [line async for line in response.aiter_lines() if line]
            assert lines[-1] == "data: [DONE]"
            assert server.total_connections == 2
            assert pool.idle_connections == 1


async def test_aclose_closes_connections_in_use(autojump_clock: trio.testing.MockClock) -> None:
    on_the_wire = trio.Event()

    def route(request: RecordedRequest) -> Reply:
        on_the_wire.set()
        return Reply(text="ok", ttft=10)

    async with open_fake_openai_server(route) as server:
        pool = StackPool(max_keepalive=4)
        url = f"{server.base_url}/chat/completions"
        client = _client(pool)
        failures: list[BaseException] = []

        async def call() -> None:
            try:
                await client.post(url, json=BODY)
            except httpx.TransportError as exc:
                failures.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(call)
            with trio.fail_after(5):
                await on_the_wire.wait()
            await client.aclose()
        assert len(failures) == 1
        assert pool.open_connections == 0
        with trio.fail_after(5):
            await server.wait_for_connections(0)
        with pytest.raises(RuntimeError):
            await client.post(url, json=BODY)  # httpx refuses a closed client


async def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    # httpcore times keep-alive with the real clock: no MockClock here.
    async with open_fake_openai_server() as server:
        pool = StackPool(max_keepalive=4, keepalive_expiry=0.05)
        url = f"{server.base_url}/chat/completions"
        async with _client(pool) as client:
            assert (await client.post(url, json=BODY)).status_code == 200
            await trio.sleep(0.1)  # the idle connection expires
            assert (await client.post(url, json=BODY)).status_code == 200
            assert server.total_connections == 2
            assert pool.open_connections == 1
        with trio.fail_after(5):
            await server.wait_for_connections(0)


async def test_transport_errors_are_httpx_errors() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pool = StackPool(max_keepalive=4)
    async with _client(pool) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=BODY)
    assert pool.open_connections == 0


async def test_the_compatible_adapter_closes_every_pooled_socket_on_runtime_exit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_fake_openai_server(default=Reply(text="ok", ttft=0.5)) as server:
        async with open_runtime(env={}) as rt:
            llm = rt.create_llm(
                "openai-compatible", "m", base_url=server.base_url, max_concurrent=50
            )
            async with trio.open_nursery() as nursery:
                for _ in range(50):
                    nursery.start_soon(llm.generate, "Hi")
            assert server.open_connections == 50  # kept alive for the next burst
            async with trio.open_nursery() as nursery:
                for _ in range(50):
                    nursery.start_soon(llm.generate, "Hi")
            assert server.total_connections == 50
        with trio.fail_after(5):
            await server.wait_for_connections(0)
