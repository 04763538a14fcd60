"""One connection of a fake wire server: read requests, write responses, and act
out faults (pauses that notice a client leaving, resets, truncated bodies)."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterable

import attrs
import h11
import trio

from ._script import RecordedRequest

_READ_SIZE = 65536
Headers = Iterable[tuple[str, str]]


class ClientGone(Exception):
    """The client closed or reset the connection."""


@attrs.define(eq=False)
class Exchange:
    """One connection's I/O: read requests, write responses, act out faults."""

    stream: trio.SocketStream
    conn: h11.Connection = attrs.field(factory=lambda: h11.Connection(h11.SERVER))
    closed: bool = False

    async def read_request(self) -> RecordedRequest | None:
        """The next whole request, or None when the client closed the connection."""
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await self.stream.receive_some(_READ_SIZE)
                except trio.BrokenResourceError:  # a RST from the client
                    return None
                self.conn.receive_data(data)
            elif isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                return None
        assert head is not None
        headers: dict[str, str] = {}
        for name, value in head.headers:  # h11 lower-cases names
            key = name.decode("latin-1")
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        try:
            parsed: object | None = json.loads(body) if body else None
        except ValueError:
            parsed = None
        return RecordedRequest(
            method=head.method.decode(),
            path=head.target.decode(),
            headers=headers,
            body=bytes(body),
            json=parsed,
        )

    async def pause(self, seconds: float) -> None:
        """Wait `seconds` (trio's clock, so a MockClock controls it), reading the
        socket meanwhile: a client that goes away ends the wait at once with
        ClientGone instead of going unnoticed until the next write."""
        await self.pause_until(trio.current_time() + seconds)

    async def pause_until(self, deadline: float) -> None:
        """`pause` until trio's clock reads `deadline` (at once if it has)."""
        if deadline <= trio.current_time():
            await trio.lowlevel.checkpoint()
            return
        with trio.move_on_at(deadline):
            while True:
                try:
                    data = await self.stream.receive_some(_READ_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    raise ClientGone from exc
                if not data:
                    raise ClientGone
                self.conn.receive_data(data)  # a pipelined request: h11 keeps it for later

    async def _send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise ClientGone from exc

    async def respond(
        self,
        status: int,
        raw: bytes,
        headers: Headers = (),
        content_type: str = "application/json",
    ) -> None:
        """A whole response with a Content-Length body."""
        await self._send(
            h11.Response(
                status_code=status,
                headers=[
                    ("content-type", content_type),
                    ("content-length", str(len(raw))),
                    *headers,
                ],
            )
        )
        await self._send(h11.Data(data=raw))
        await self._send(h11.EndOfMessage())

    async def start(self, status: int, headers: Headers) -> None:
        """A response head; its body follows with `send` and `end` (chunked
        unless `headers` has a content-length)."""
        await self._send(h11.Response(status_code=status, headers=list(headers)))

    async def send_raw(self, data: bytes) -> None:
        """Bytes written as they are, past h11 (a head h11 would refuse or
        build whole); the connection must be closed after."""
        try:
            await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ClientGone from exc

    async def start_stream(self, headers: Headers = ()) -> None:
        """The head of an SSE response (chunked: its length is unknown)."""
        head = [("content-type", "text/event-stream"), ("cache-control", "no-cache"), *headers]
        await self._send(h11.Response(status_code=200, headers=head))

    async def send(self, data: bytes) -> None:
        if data:
            await self._send(h11.Data(data=data))

    async def end(self) -> None:
        """End the response cleanly (the last chunk of a chunked body)."""
        await self._send(h11.EndOfMessage())

    async def truncated(self, raw: bytes, headers: Headers = ()) -> None:
        """Promise `raw` in Content-Length, send half of it, then close."""
        head = [("content-type", "application/json"), ("content-length", str(len(raw))), *headers]
        await self._send(h11.Response(status_code=200, headers=head))
        await self._send(h11.Data(data=raw[: len(raw) // 2]))
        await self.close()

    async def reset(self) -> None:
        """Abort the connection with a TCP RST: SO_LINGER (on, 0 s) makes close() discard
        the send buffer and reset, which is what a crashed proxy or server does."""
        self.stream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await self.close()

    async def close(self) -> None:
        self.closed = True
        await self.stream.aclose()
