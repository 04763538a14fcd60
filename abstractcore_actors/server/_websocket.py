"""A WebSocket served to an ASGI app, over wsproto, once `_http1` has parsed
the upgrade request: the handshake (101, or 403 when the app closes before
accepting), text and binary messages, pings answered, and a close from either
side ending with `websocket.disconnect`."""

from __future__ import annotations

import math
from typing import Any

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from ._http import Scope

_READ_SIZE = 65536
_MAX_MESSAGE = 1 << 20  # bytes of one incoming message (the events socket takes only small ones)


async def serve_websocket(
    stream: trio.SocketStream, scope: Scope, leftover: bytes, app: Any
) -> None:
    """Run `app` for the upgrade request in `scope`; `leftover` is what the
    client sent after the request head (frames sent before the 101)."""
    ws = WSConnection(ConnectionType.SERVER)
    ws.receive_data(_request_head(scope) + leftover)
    request = next(iter(ws.events()), None)
    if not isinstance(request, Request):
        await stream.send_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
        return
    scope["subprotocols"] = list(request.subprotocols)
    session = _Session(stream, ws)
    async with trio.open_nursery() as nursery:
        session.nursery = nursery
        await app(scope, session.receive, session.send)
        nursery.cancel_scope.cancel()
    if session.accepted and not session.closed:
        await session.send({"type": "websocket.close", "code": 1000})
    elif not session.accepted and not session.closed:
        await session.reject()


def _request_head(scope: Scope) -> bytes:
    target = scope["raw_path"] + (b"?" + scope["query_string"] if scope["query_string"] else b"")
    lines = [b"GET %b HTTP/1.1\r\n" % target]
    lines += [b"%b: %b\r\n" % (name, value) for name, value in scope["headers"]]
    return b"".join(lines) + b"\r\n"


class _Session:
    def __init__(self, stream: trio.SocketStream, ws: WSConnection) -> None:
        self.stream = stream
        self.ws = ws
        self.nursery: trio.Nursery | None = None
        self.accepted = False
        self.closed = False  # a close frame sent, or the connection gone
        self._connected = False  # websocket.connect delivered
        self._inbox_send, self._inbox = trio.open_memory_channel[dict[str, Any]](math.inf)
        self._text: list[str] = []
        self._bytes: list[bytes] = []
        self._size = 0

    async def receive(self) -> dict[str, Any]:
        if not self._connected:
            self._connected = True
            return {"type": "websocket.connect"}
        try:
            return await self._inbox.receive()
        except trio.EndOfChannel:
            return {"type": "websocket.disconnect", "code": 1006}

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if self.closed:
            return  # the client is gone: nothing to tell it
        if kind == "websocket.accept":
            self.accepted = True
            extra = [(k, v) for k, v in message.get("headers", ())]
            await self._write(
                self.ws.send(
                    AcceptConnection(subprotocol=message.get("subprotocol"), extra_headers=extra)
                )
            )
            assert self.nursery is not None
            self.nursery.start_soon(self._read)
        elif kind == "websocket.send":
            if not self.accepted:
                raise RuntimeError("websocket.send before websocket.accept")
            text = message.get("text")
            data = (
                TextMessage(data=text) if text is not None else BytesMessage(data=message["bytes"])
            )
            await self._write(self.ws.send(data))
        elif kind == "websocket.close":
            if not self.accepted:
                await self.reject()
                return
            self.closed = True
            code = message.get("code", 1000)
            await self._write(
                self.ws.send(CloseConnection(code=code, reason=message.get("reason") or ""))
            )
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} on a websocket")

    async def reject(self) -> None:
        self.closed = True
        await self._write(self.ws.send(RejectConnection(status_code=403, has_body=False)))

    async def _write(self, data: bytes) -> None:
        try:
            await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.closed = True
            self._inbox_send.close()

    async def _read(self) -> None:
        with self._inbox_send:
            while True:
                try:
                    data = await self.stream.receive_some(_READ_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    data = b""
                if not data:
                    self.closed = True
                    return
                try:
                    self.ws.receive_data(data)
                    for event in self.ws.events():
                        if not await self._handle(event):
                            return
                except (LocalProtocolError, RemoteProtocolError):
                    self.closed = True
                    return

    async def _handle(self, event: object) -> bool:
        """Deliver one wsproto event; False once the connection is closing."""
        if isinstance(event, Message):
            if isinstance(event, TextMessage):
                self._text.append(event.data)
            else:
                self._bytes.append(bytes(event.data))
            self._size += len(event.data)
            if self._size > _MAX_MESSAGE:
                await self.send({"type": "websocket.close", "code": 1009})
                self._inbox_send.send_nowait({"type": "websocket.disconnect", "code": 1009})
                return False
            if event.message_finished:
                self._size = 0
                if isinstance(event, TextMessage):
                    text, self._text = "".join(self._text), []
                    self._inbox_send.send_nowait({"type": "websocket.receive", "text": text})
                else:
                    blob, self._bytes = b"".join(self._bytes), []
                    self._inbox_send.send_nowait({"type": "websocket.receive", "bytes": blob})
        elif isinstance(event, Ping):
            await self._write(self.ws.send(event.response()))
        elif isinstance(event, CloseConnection):
            if not self.closed:
                self.closed = True
                await self._write(self.ws.send(event.response()))
            self._inbox_send.send_nowait({"type": "websocket.disconnect", "code": event.code})
            return False
        return True
