"""A tiny raw HTTP/1.1 server for the lean client's tests: each test writes the
response bytes itself (any framing, any split, any misbehaviour) and reads
the request bytes exactly as they arrived.

    async def answer(conn: RawConnection, request: bytes) -> bool:
        await conn.send(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
        return True  # keep the connection for the next request

    async with open_raw_server(answer) as server:
        ... server.port, server.requests, server.open_connections ...
"""

from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import attrs
import trio
import trio.lowlevel

_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class RawConnection:
    """One accepted socket: read whole requests, write raw bytes."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.buffer = bytearray()

    async def read_request(self) -> bytes | None:
        """The next request's bytes (head and Content-Length body), or None once
        the client closed (or reset) the connection."""
        while b"\r\n\r\n" not in self.buffer:
            if not await self._more():
                return None
        end = self.buffer.index(b"\r\n\r\n") + 4
        match = _LENGTH.search(self.buffer[:end])
        end += int(match.group(1)) if match else 0
        while len(self.buffer) < end:
            if not await self._more():
                return None
        request = bytes(self.buffer[:end])
        del self.buffer[:end]
        return request

    async def _more(self) -> bool:
        try:
            data = await self.stream.receive_some(65536)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        self.buffer += data
        return bool(data)

    async def wait_closed(self) -> None:
        """Stall (answer nothing more) until the client closes the connection."""
        while await self._more():
            pass

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def send_split(self, data: bytes, cuts: list[int]) -> None:
        """Write `data` in pieces cut at `cuts` (offsets), yielding between them,
        so the client's parser sees the response arrive in those pieces."""
        start = 0
        for cut in [*sorted(set(cuts)), len(data)]:
            if start < cut <= len(data):
                await self.stream.send_all(data[start:cut])
                await trio.lowlevel.checkpoint()
                start = cut


Answer = Callable[[RawConnection, bytes], Awaitable[bool]]


@attrs.define(eq=False)
class RawServer:
    """Counts and records of the sockets a test's client opened."""

    port: int = 0
    #: every request's raw bytes, in order of arrival
    requests: list[bytes] = attrs.field(factory=list)
    open_connections: int = 0
    total_connections: int = 0
    _changed: trio.Event = attrs.field(factory=trio.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def wait_for_connections(self, count: int = 0) -> None:
        """Return once exactly `count` connections are open (put it under fail_after)."""
        while self.open_connections != count:
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()


@asynccontextmanager
async def open_raw_server(
    answer: Answer, *, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[RawServer]:
    """Serve on 127.0.0.1 (a free port): `answer(conn, request)` writes each
    response and returns whether to read another request on that connection;
    False closes it. With `ssl_context`, https (a failed handshake ends the
    connection). Leaving the block closes every connection."""
    server = RawServer()

    async def connection(tcp: trio.SocketStream) -> None:
        server.open_connections += 1
        server.total_connections += 1
        server._notify()
        stream: trio.abc.Stream = tcp
        if ssl_context is not None:
            stream = trio.SSLStream(tcp, ssl_context, server_side=True)
        conn = RawConnection(stream)
        try:
            while (request := await conn.read_request()) is not None:
                server.requests.append(request)
                try:
                    if not await answer(conn, request):
                        break
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    break  # the client went away mid-answer
        finally:
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(stream)
            server.open_connections -= 1
            server._notify()

    async with trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        server.port = listeners[0].socket.getsockname()[1]
        nursery.start_soon(trio.serve_listeners, connection, listeners)
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()


def response(body: bytes, *, headers: str = "", status: str = "200 OK") -> bytes:
    """A Content-Length response with `body` and extra header lines (each ending CRLF)."""
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body
