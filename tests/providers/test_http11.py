"""Http11Client's connection pool: reuse, the keep-alive cap, expiry, and every
socket closed on cancel, early close, failure and aclose.

Real HTTP on 127.0.0.1 against the fake OpenAI server (and a raw server where
the server itself must misbehave); the server's connection counts prove which
sockets were reused and which were closed. The wire format is tested in
test_http11_wire.py, TLS and proxies in test_http11_tls_proxy.py.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import trio
import trio.testing

from abstractcore_actors import open_runtime
from abstractcore_actors._providers._http11 import Http11Client
from abstractcore_actors._providers._transport import (
    TransportError,
    TransportTimeout,
    TransportUnavailable,
)
from abstractcore_actors.testing import (
    FakeOpenAIServer,
    RecordedRequest,
    Reply,
    open_fake_openai_server,
)
from tests.providers.raw_http import RawConnection, open_raw_server, response

BODY = json.dumps({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}).encode()
STREAM_BODY = json.dumps(
    {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
).encode()


def client_for(base_url: str, **options: float) -> Http11Client:
    settings: dict[str, float] = {
        "connect_timeout": 5,
        "read_timeout": 30,
        "max_keepalive": 4,
        **options,
    }
    return Http11Client(
        base_url,
        {"Authorization": "Bearer sk-test"},
        connect_timeout=settings["connect_timeout"],
        read_timeout=settings["read_timeout"],
        max_keepalive=int(settings["max_keepalive"]),
        keepalive_expiry=settings.get("keepalive_expiry", 5.0),
    )


async def chat(client: Http11Client) -> str:
    answer = await client.post("/chat/completions", BODY)
    assert answer.status == 200
    content: str = json.loads(await answer.read())["choices"][0]["message"]["content"]
    return content


async def burst(client: Http11Client, calls: int) -> list[str]:
    contents: list[str] = []

    async def one() -> None:
        contents.append(await chat(client))

    async with trio.open_nursery() as nursery:
        for _ in range(calls):
            nursery.start_soon(one)
    return contents


async def test_sequential_calls_reuse_one_connection(
    openai_server: FakeOpenAIServer, autojump_clock: trio.testing.MockClock
) -> None:
    client = client_for(openai_server.base_url)
    for _ in range(5):
        assert await chat(client) == "echo: Hi"
    assert openai_server.total_connections == 1
    assert client.open_connections == client.idle_connections == 1
    await client.aclose()
    assert client.open_connections == 0
    with trio.fail_after(5):
        await openai_server.wait_for_connections(0)


async def test_a_second_burst_reuses_every_connection_of_the_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_fake_openai_server(default=Reply(text="ok", ttft=0.5)) as server:
        client = client_for(server.base_url, max_keepalive=20)
        assert await burst(client, 20) == ["ok"] * 20
        assert server.total_connections == 20
        assert await burst(client, 20) == ["ok"] * 20
        assert server.total_connections == 20  # not one new socket
        assert client.idle_connections == 20
        await client.aclose()
        with trio.fail_after(5):
            await server.wait_for_connections(0)


async def test_idle_connections_beyond_max_keepalive_are_closed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_fake_openai_server(default=Reply(text="ok", ttft=0.5)) as server:
        client = client_for(server.base_url, max_keepalive=2)
        assert await burst(client, 6) == ["ok"] * 6
        assert client.idle_connections == client.open_connections == 2
        with trio.fail_after(5):
            await server.wait_for_connections(2)
        await client.aclose()


async def test_a_cancelled_request_closes_its_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_fake_openai_server(default=Reply(text="ok", ttft=10)) as server:
        client = client_for(server.base_url)
        with trio.move_on_after(1) as scope:
            await burst(client, 3)
        assert scope.cancelled_caught
        assert client.open_connections == 0
        with trio.fail_after(5):
            await server.wait_for_connections(0)
        assert server.total_connections == 3
        assert await chat(client) == "ok"  # the client still serves, on a new socket
        await client.aclose()


async def test_a_stream_abandoned_early_closes_its_connection_one_read_to_its_end_is_reused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    reply = Reply(chunks=["a", "b", "c", "d"], ttft=0.1, token_latency=1.0)
    async with open_fake_openai_server(default=reply) as server:
        client = client_for(server.base_url)
        answer = await client.post("/chat/completions", STREAM_BODY)
        assert (await answer.receive_some()).startswith(b"data: ")
        await answer.aclose()  # leave after the first piece: the rest is unread
        assert client.open_connections == client.idle_connections == 0
        with trio.fail_after(5):
            await server.wait_for_connections(0)

        answer = await client.post("/chat/completions", STREAM_BODY)
        pieces = []
        while piece := await answer.receive_some():
            pieces.append(piece)
        assert b"".join(pieces).rstrip().endswith(b"data: [DONE]")
        await answer.aclose()  # after the end: harmless, the connection stays pooled
        assert client.open_connections == client.idle_connections == 1
        assert await chat(client) == "abcd"  # on the same socket
        assert server.total_connections == 2
        await client.aclose()


async def test_aclose_closes_connections_in_use_and_then_refuses_posts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    on_the_wire = trio.Event()

    def route(request: RecordedRequest) -> Reply:
        if request.json and request.json.get("stream"):  # type: ignore[union-attr]
            return Reply(chunks=["a", "b"], ttft=0.1, token_latency=10)
        on_the_wire.set()
        return Reply(text="ok", ttft=10)

    async with open_fake_openai_server(route) as server:
        client = client_for(server.base_url)
        streaming = await client.post("/chat/completions", STREAM_BODY)
        assert await streaming.receive_some()  # a response in use, its body half read
        failures: list[BaseException] = []

        async def call() -> None:
            try:
                await chat(client)
            except TransportError as exc:
                failures.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(call)
            with trio.fail_after(5):
                await on_the_wire.wait()
            await client.aclose()
        assert [type(exc) for exc in failures] == [TransportUnavailable]
        with pytest.raises(TransportUnavailable):
            await streaming.receive_some()
        await streaming.aclose()
        assert client.open_connections == 0
        with trio.fail_after(5):
            await server.wait_for_connections(0)
        with pytest.raises(TransportUnavailable, match="closed"):
            await client.post("/chat/completions", BODY)
        assert server.total_connections == 2


async def test_a_connection_the_server_closed_while_idle_is_detected_and_replaced(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def answer_once(conn: RawConnection, request: bytes) -> bool:
        # says keep-alive, then closes anyway: the client learns it only
        # when it next looks at the idle socket
        await conn.send(response(b"{}"))
        return False

    async with open_raw_server(answer_once) as server:
        client = client_for(server.base_url)
        for _ in range(3):
            answer = await client.post("/chat/completions", BODY)
            assert await answer.read() == b"{}"
            with trio.fail_after(5):
                await server.wait_for_connections(0)
            assert client.idle_connections == 1  # it does not know yet
        assert server.total_connections == 3  # each post saw the close, none failed
        await client.aclose()
        assert client.open_connections == 0


async def test_idle_connections_expire_after_keepalive_expiry(
    openai_server: FakeOpenAIServer, autojump_clock: trio.testing.MockClock
) -> None:
    client = client_for(openai_server.base_url, keepalive_expiry=2)
    await chat(client)
    await trio.sleep(1)
    await chat(client)  # within the expiry: the same socket
    assert openai_server.total_connections == 1
    await trio.sleep(3)
    await chat(client)  # past it: the idle socket is closed, a new one opened
    assert openai_server.total_connections == 2
    assert client.open_connections == 1
    with trio.fail_after(5):
        await openai_server.wait_for_connections(1)
    await client.aclose()


async def test_an_expired_idle_connection_is_closed_when_another_is_released(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_fake_openai_server(default=Reply(text="ok", ttft=0.5)) as server:
        client = client_for(server.base_url, keepalive_expiry=2)
        assert await burst(client, 2) == ["ok"] * 2  # two idle sockets
        await trio.sleep(3)
        await chat(client)  # takes one (expired: replaced), releases the new one
        # the other expired one, oldest in the stack, went on that release
        assert client.open_connections == client.idle_connections == 1
        with trio.fail_after(5):
            await server.wait_for_connections(1)
        await client.aclose()


def free_port() -> int:
    with socket.socket() as probe:  # bound, never listening: connections are refused
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_port_nobody_listens_on_is_transport_unavailable() -> None:
    client = client_for(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(TransportUnavailable, match=r"cannot connect to http://127\.0\.0\.1"):
        await client.post("/chat/completions", BODY)
    assert client.open_connections == 0
    await client.aclose()


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listener never accepts and whose accept queue is full: Linux
    drops the next SYN, so a connect hangs (no network needed)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_a_connect_that_hangs_is_transport_timeout(full_backlog: int) -> None:
    # The real clock: the kernel, not trio, decides when a SYN is answered.
    client = client_for(f"http://127.0.0.1:{full_backlog}/v1", connect_timeout=0.3)
    with trio.fail_after(10), pytest.raises(TransportTimeout, match=r"took over 0\.3s"):
        await client.post("/chat/completions", BODY)
    assert client.open_connections == 0
    await client.aclose()


async def test_a_server_that_never_answers_is_transport_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def never(conn: RawConnection, request: bytes) -> bool:
        await conn.wait_closed()
        return False

    async with open_raw_server(never) as server:
        client = client_for(server.base_url, read_timeout=3)
        with pytest.raises(TransportTimeout, match="no response head within 3s"):
            await client.post("/chat/completions", BODY)
        assert client.open_connections == 0
        with trio.fail_after(5):
            await server.wait_for_connections(0)
        await client.aclose()


async def test_a_body_that_stalls_is_transport_timeout_on_read(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def half(conn: RawConnection, request: bytes) -> bool:
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
        await conn.wait_closed()
        return False

    async with open_raw_server(half) as server:
        client = client_for(server.base_url, read_timeout=3)
        answer = await client.post("/chat/completions", BODY)
        with pytest.raises(TransportTimeout, match="did not arrive within 3s"):
            await answer.read()
        assert client.open_connections == 0
        with trio.fail_after(5):
            await server.wait_for_connections(0)
        await client.aclose()


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
