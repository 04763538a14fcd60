"""The gateway's own HTTP/1.1 server (`_listener` + `_http1`), over real
sockets on 127.0.0.1, with small ASGI apps and raw bytes on the wire: what
HTTP/1.1 asks of a server beyond what the SDKs exercise."""

from __future__ import annotations

import functools
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from abstractcore_actors.server._http import DISCONNECT, Message, Receive, Scope, Send
from abstractcore_actors.server._listener import serve_asgi
from tests.leaks import our_tasks

DEADLINE = 10


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the method, path and body it read."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = b"%s %s %s" % (scope["method"].encode(), scope["path"].encode(), body)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": answer})


@asynccontextmanager
async def serving(app: Any, stop: trio.Event | None = None) -> AsyncIterator[int]:
    stop = stop or trio.Event()
    async with trio.open_nursery() as nursery:
        run = functools.partial(
            serve_asgi, app, "127.0.0.1", 0, shutdown_trigger=stop.wait, graceful_timeout=2
        )
        yield await nursery.start(run)
        nursery.cancel_scope.cancel()


async def exchange(port: int, data: bytes, pieces: list[int] | None = None) -> bytes:
    """Send `data` (cut at `pieces`), then read until the server closes."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        cuts = [0, *sorted(pieces or []), len(data)]
        for start, end in itertools.pairwise(cuts):
            if end > start:
                await stream.send_all(data[start:end])
        answer = b""
        while chunk := await stream.receive_some(65536):
            answer += chunk
    return answer


def request(path: str, body: bytes = b"", *, close: bool = False, chunked: bool = False) -> bytes:
    head = b"POST %s HTTP/1.1\r\nhost: t\r\n" % path.encode()
    if close:
        head += b"connection: close\r\n"
    if chunked:
        framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:3], body[3:]) if p)
        return head + b"transfer-encoding: chunked\r\n\r\n" + framed + b"0\r\n\r\n"
    return head + b"content-length: %d\r\n\r\n" % len(body) + body


def bodies(answer: bytes) -> list[bytes]:
    """The bodies of content-length responses, in order."""
    found = []
    while answer:
        head, _, rest = answer.partition(b"\r\n\r\n")
        size = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        found.append(rest[:size])
        answer = rest[size:]
    return found


async def test_pipelined_requests_are_answered_in_order_on_one_connection() -> None:
    data = request("/a", b"one") + request("/b", b"two", chunked=True) + request("/c", close=True)
    with trio.fail_after(DEADLINE):
        async with serving(echo) as port:
            answer = await exchange(port, data)
    assert bodies(answer) == [b"POST /a one", b"POST /b two", b"POST /c "]
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 3


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.binary(max_size=40), min_size=1, max_size=4),
    st.lists(st.booleans(), min_size=4, max_size=4),
    st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_any_split_of_a_pipelined_byte_stream_gives_the_same_answers(
    payloads: list[bytes], chunked: list[bool], cuts: list[int]
) -> None:
    data = b"".join(
        request(f"/{i}", body, chunked=chunked[i], close=i == len(payloads) - 1)
        for i, body in enumerate(payloads)
    )
    pieces = [c % (len(data) + 1) for c in cuts]

    async def main() -> list[bytes]:
        with trio.fail_after(DEADLINE):
            async with serving(echo) as port:
                return bodies(await exchange(port, data, pieces))

    assert trio.run(main) == [b"POST /%d %s" % (i, body) for i, body in enumerate(payloads)]


async def test_expect_100_continue_gets_its_interim_answer_before_the_body() -> None:
    head = b"POST /x HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 4\r\n\r\n"
    with trio.fail_after(DEADLINE):
        async with serving(echo) as port:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            async with stream:
                await stream.send_all(head)
                interim = await stream.receive_some(65536)
                await stream.send_all(b"body")
                answer = await stream.receive_some(65536)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"POST /x body")


async def test_a_streamed_answer_is_chunked_and_head_gets_no_body() -> None:
    async def stream_app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"ab", b"", b"cde"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    with trio.fail_after(DEADLINE):
        async with serving(stream_app) as port:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                got = await client.get("/")
                head = await client.head("/")
            raw = await exchange(port, b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
    assert got.text == "abcde"
    assert got.headers["transfer-encoding"] == "chunked"
    assert head.status_code == 200
    assert head.content == b""
    assert raw.endswith(b"\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n")


async def test_malformed_and_oversized_heads_are_refused_and_closed() -> None:
    huge = b"GET / HTTP/1.1\r\nhost: t\r\nx-big: " + b"a" * 70_000 + b"\r\n\r\n"
    with trio.fail_after(DEADLINE):
        async with serving(echo) as port:
            bad = await exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
            big = await exchange(port, huge)
    assert bad.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert big.startswith(b"HTTP/1.1 431 ")
    assert b"connection: close" in bad and b"connection: close" in big


async def test_an_app_failure_is_a_500_before_the_answer_and_a_cut_after() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/late":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"half", "more_body": True})
        raise RuntimeError("the app broke")

    with trio.fail_after(DEADLINE):
        async with serving(failing) as port:
            early = await exchange(port, request("/early") + request("/never"))
            late = await exchange(port, request("/late") + request("/never"))
    assert early.startswith(b"HTTP/1.1 500 ") and early.count(b"HTTP/1.1") == 1
    assert b"connection: close" in early
    # chunked, with no closing 0-chunk: the client can tell the answer was cut
    assert late.endswith(b"4\r\nhalf\r\n") and late.count(b"HTTP/1.1") == 1


async def test_a_client_that_leaves_cancels_the_handler_through_the_extension() -> None:
    cancelled = trio.Event()
    started = trio.Event()
    disconnect_seen: list[str] = []

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        with trio.CancelScope() as cut:
            unwatch = scope["extensions"][DISCONNECT](cut.cancel)
            started.set()
            await trio.sleep_forever()
        unwatch()
        if cut.cancelled_caught:
            cancelled.set()
        message: Message = await receive()
        disconnect_seen.append(message["type"])

    with trio.fail_after(DEADLINE):
        async with serving(slow) as port:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(request("/slow"))
            await started.wait()
            await stream.aclose()
            await cancelled.wait()
    assert disconnect_seen == ["http.disconnect"]


async def test_graceful_stop_closes_idle_connections_and_refuses_new_ones() -> None:
    stop = trio.Event()
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            run = functools.partial(
                serve_asgi, echo, "127.0.0.1", 0, shutdown_trigger=stop.wait, graceful_timeout=5
            )
            port = await nursery.start(run)
            idle = await trio.open_tcp_stream("127.0.0.1", port)
            await idle.send_all(request("/first"))
            first = await idle.receive_some(65536)
            stop.set()
            # the idle keep-alive connection is closed by the server, at once
            assert await idle.receive_some(65536) == b""
            await idle.aclose()
            refused = False
            try:
                await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                refused = True
        # leaving the nursery means serve_asgi returned by itself
    assert first.endswith(b"POST /first ")
    assert refused
    assert our_tasks() == []


async def test_idle_and_half_sent_connections_close_after_the_keep_alive() -> None:
    stop = trio.Event()
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            run = functools.partial(
                serve_asgi,
                echo,
                "127.0.0.1",
                0,
                shutdown_trigger=stop.wait,
                graceful_timeout=1,
                keep_alive=0.3,
            )
            port = await nursery.start(run)
            idle = await trio.open_tcp_stream("127.0.0.1", port)
            await idle.send_all(request("/one"))
            answered = await idle.receive_some(65536)
            slow = await trio.open_tcp_stream("127.0.0.1", port)
            await slow.send_all(b"POST /x HTTP/1.1\r\nhost: t\r\n")  # a head never finished
            start = trio.current_time()
            assert await idle.receive_some(65536) == b""  # the server closed it
            assert await slow.receive_some(65536) == b""
            waited = trio.current_time() - start
            await idle.aclose()
            await slow.aclose()
            stop.set()
    assert answered.endswith(b"POST /one ")
    assert 0.2 <= waited < 2
