"""One HTTP/1.1 connection served to an ASGI app.

The gateway's own server, in place of Hypercorn: under wrk, Hypercorn's trio
worker answered a static JSON body ~3,200 times a second on this machine's
2 cores, a bare h11 loop ~14,000, and this httptools (llhttp, in C) loop
with the ASGI cycle on top ~22,000-24,000 (docs/server.md, "Overhead"). The
difference is per-request machinery: Hypercorn runs each request as its own
task with its own channels and timers; here a connection is two tasks for its
whole life (this one answering, one reading), and a request is a plain object.

What it keeps of a full server: keep-alive with an idle timeout, pipelined
requests answered in order, `Expect: 100-continue`, chunked request and
response bodies, a bounded head (431), a 400 for malformed requests, a 500
for an app that fails before answering, `http.disconnect` the moment the
client goes (which cancels the upstream call), WebSocket upgrades handed to
`_websocket`, and a graceful close of idle connections (`_listener`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, final
from urllib.parse import unquote

import httptools
import trio

from ._http import BODY, DISCONNECT, Message, Receive, Scope, Send
from ._http1_cycle import Cycle, Date

log = logging.getLogger("abstractcore_actors.server")

App = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_HEAD = 64 * 1024  # request line + headers, bytes
_READ_SIZE = 65536
_PAUSE_BODY = 1 << 20  # stop reading while this much body waits unread
_NO_BODY = frozenset({204, 304})
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _nothing() -> None:
    pass


class _HeadTooLarge(Exception):
    pass


@final
class Connection:
    """Serve one accepted stream: `await Connection(...).run()`."""

    def __init__(
        self,
        stream: trio.SocketStream,
        app: App,
        date: Date,
        *,
        server: tuple[str, int] | None,
        client: tuple[str, int] | None,
        websocket: Callable[[trio.SocketStream, Scope, bytes, App], Awaitable[None]],
    ) -> None:
        self.stream = stream
        self._app = app
        self._date = date
        self._server = server
        self._client = client
        self._websocket = websocket
        self._parser = httptools.HttpRequestParser(self)
        self._pending: deque[Cycle] = deque()  # parsed heads, answered in order
        self._parsing: Cycle | None = None  # whose body the parser is reading
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        self._leftover = b""  # bytes after an upgrade's head
        self.gone = False  # the client closed, or the socket broke
        self._bad: int | None = None  # 400/431: the request could not be parsed
        self._stopping = False  # graceful shutdown: no new requests
        self.idle_since: float | None = None  # when it began waiting for a request
        self._on_gone: set[Callable[[], None]] = set()
        self._wake = trio.lowlevel.ParkingLot()  # the answering side waits here
        self._resume = trio.lowlevel.ParkingLot()  # the reading side waits here

    # -- the two tasks -------------------------------------------------

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read)
                try:
                    upgraded = await self._answer_all()
                finally:
                    nursery.cancel_scope.cancel()
            if upgraded is not None:
                await self._websocket(self.stream, upgraded.scope, self._leftover, self._app)
        finally:
            with trio.CancelScope(shield=True):
                await self.stream.aclose()

    def stop_when_idle(self) -> None:
        """Close now if idle, else after the current answer (graceful shutdown,
        or idle past the keep-alive)."""
        self._stopping = True
        self._wake.unpark_all()

    async def _read(self) -> None:
        while True:
            try:
                data = await self.stream.receive_some(_READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                self._lose()
                return
            try:
                self._parser.feed_data(data)
            except httptools.HttpParserUpgrade as upgrade:
                self._leftover = data[upgrade.args[0] :]
                return  # the answering side takes the stream over (or closes it)
            except httptools.HttpParserCallbackError as error:
                self._bad = 431 if isinstance(error.__context__, _HeadTooLarge) else 400
                self._wake.unpark_all()
                return
            except httptools.HttpParserError:
                self._bad = 400
                self._wake.unpark_all()
                return
            # backpressure: pipelined heads or a body the app is not reading
            while len(self._pending) > 1 or (
                self._parsing is not None and self._parsing.body_size > _PAUSE_BODY
            ):
                await self._resume.park()

    async def _answer_all(self) -> Cycle | None:
        """Answer requests in order until the connection should close; returns
        the cycle of a WebSocket upgrade, if one ended it."""
        while True:
            if not self._pending:
                # no timeout scope per wait (trio's deadline scopes cost): the
                # listener's reaper stops connections idle past the keep-alive
                self.idle_since = trio.current_time()
                try:
                    while not self._pending and not self.gone and self._bad is None:
                        if self._stopping:
                            return None
                        await self._wake.park()
                finally:
                    self.idle_since = None
            if not self._pending:
                if self._bad is not None and not self.gone:
                    await self._refuse(self._bad)
                return None  # idle too long, the client left, or a bad request
            cycle = self._pending[0]
            if cycle.upgrade and _is_websocket(cycle.scope):
                self._pending.popleft()
                cycle.scope["type"] = "websocket"
                cycle.scope["scheme"] = "ws"
                return cycle
            await self._answer(cycle)
            self._pending.popleft()
            self._resume.unpark_all()
            if not (cycle.keep_alive and cycle.complete) or self.gone or self._stopping:
                return None
            if cycle.upgrade:
                return None  # another protocol: the parser stopped at its head

    async def _answer(self, cycle: Cycle) -> None:
        async def receive() -> Message:
            return await self._receive(cycle)

        async def send(message: Message) -> None:
            await self._send(cycle, message)

        try:
            await self._app(cycle.scope, receive, send)
        except Exception:
            log.exception("the app failed on %s %s", cycle.scope["method"], cycle.scope["path"])
            if not cycle.started and not self.gone:
                cycle.keep_alive = False
                await self._send_plain(cycle, 500, b"Internal Server Error")
                return
        if not cycle.started and not self.gone:
            log.error("the app returned without answering %s", cycle.scope["path"])
            cycle.keep_alive = False
            await self._send_plain(cycle, 500, b"Internal Server Error")
        elif not cycle.done:
            cycle.keep_alive = False  # a cut response: the client must not reuse this

    # -- the ASGI side -------------------------------------------------

    async def _receive(self, cycle: Cycle) -> Message:
        while True:
            if cycle.body or (cycle.complete and not cycle.delivered):
                body = cycle.take()
                self._resume.unpark_all()
                return {"type": "http.request", "body": body, "more_body": not cycle.complete}
            if self.gone or cycle.done or (self._bad is not None and not cycle.complete):
                return {"type": "http.disconnect"}
            if cycle.expect_continue and not cycle.started:
                cycle.expect_continue = False
                await self._write(_CONTINUE)
                continue
            await self._wake.park()

    async def _send(self, cycle: Cycle, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if cycle.started:
                raise RuntimeError("http.response.start sent twice")
            cycle.started = True
            cycle.status = message["status"]
            cycle.headers = list(message.get("headers", ()))
            return
        if kind != "http.response.body":
            raise RuntimeError(f"unexpected ASGI message {kind!r} on an http connection")
        if not cycle.started or cycle.done:
            raise RuntimeError("http.response.body without its start, or after the last one")
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        if not more:
            cycle.done = True
            self._wake.unpark_all()  # an app waiting in receive() now sees the end
        if self.gone:
            return  # nobody is reading: the app's disconnect watcher stops it
        out = b""
        if not cycle.head_sent:
            cycle.head_sent = True
            out = self._head(cycle, len(body), more)
        if cycle.head_only or cycle.status in _NO_BODY:
            data = out
        elif cycle.chunked:
            data = out + (b"%x\r\n%b\r\n" % (len(body), body) if body else b"")
            if not more:
                data += b"0\r\n\r\n"
        else:
            data = out + body
        if data:
            await self._write(data)

    def _head(self, cycle: Cycle, size: int, more: bool) -> bytes:
        status = cycle.status
        lines = [b"HTTP/1.1 %d %b\r\n" % (status, _REASONS.get(status, b"")), self._date.header()]
        sized = False
        for name, value in cycle.headers:
            lower = name.lower()
            if lower == b"content-length":
                sized = True
            elif lower == b"connection" and value.lower() == b"close":
                cycle.keep_alive = False
            elif lower == b"transfer-encoding":
                continue  # framing is ours
            lines.append(b"%b: %b\r\n" % (name, value))
        if status not in _NO_BODY and status >= 200 and not sized:
            if more:
                cycle.chunked = True
                lines.append(b"transfer-encoding: chunked\r\n")
            else:
                lines.append(b"content-length: %d\r\n" % size)
        if not cycle.complete:
            cycle.keep_alive = False  # answered before the body was read: do not guess its end
        if not cycle.keep_alive or self._stopping:
            lines.append(b"connection: close\r\n")
        lines.append(b"\r\n")
        return b"".join(lines)

    async def _send_plain(self, cycle: Cycle, status: int, text: bytes) -> None:
        cycle.started = True
        cycle.status = status
        cycle.headers = [(b"content-type", b"text/plain; charset=utf-8")]
        await self._send(cycle, {"type": "http.response.body", "body": text})

    async def _refuse(self, status: int) -> None:
        reason = _REASONS.get(status, b"")
        await self._write(
            b"HTTP/1.1 %d %b\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%b" % (status, reason, len(reason), reason)
        )

    async def _write(self, data: bytes) -> None:
        try:
            await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._lose()

    def _lose(self) -> None:
        """The client is gone: wake whoever waits, cancel whoever asked to be."""
        self.gone = True
        self._wake.unpark_all()
        for cancel in list(self._on_gone):
            cancel()

    def _watch(self, cancel: Callable[[], None]) -> Callable[[], None]:
        """The `DISCONNECT` extension: call `cancel` when the client goes (at
        once if it has); returns the function that stops watching."""
        if self.gone:
            cancel()
            return _nothing
        self._on_gone.add(cancel)
        return lambda: self._on_gone.discard(cancel)

    # -- httptools callbacks (inside feed_data, in the reading task) -------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._grow(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))
        self._grow(len(name) + len(value) + 4)

    def _grow(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_HEAD:
            raise _HeadTooLarge

    def on_headers_complete(self) -> None:
        parser = self._parser
        url = httptools.parse_url(self._url)
        raw_path: bytes = url.path or b"/"
        headers = self._headers
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": parser.get_http_version(),
            "method": parser.get_method().decode("ascii"),
            "scheme": "http",
            "path": unquote(raw_path.decode("latin-1")),
            "raw_path": raw_path,
            "query_string": url.query or b"",
            "root_path": "",
            "headers": headers,
            "client": self._client,
            "server": self._server,
        }
        expect = any(n == b"expect" and v.lower() == b"100-continue" for n, v in headers)
        cycle = Cycle(scope, parser.should_keep_alive(), expect)
        scope["extensions"] = {DISCONNECT: self._watch, BODY: cycle.arrived}
        cycle.upgrade = parser.should_upgrade()
        self._parsing = cycle
        self._pending.append(cycle)
        self._wake.unpark_all()

    def on_body(self, body: bytes) -> None:
        cycle = self._parsing
        if cycle is not None:
            cycle.body.append(body)
            cycle.body_size += len(body)
            self._wake.unpark_all()

    def on_message_complete(self) -> None:
        cycle = self._parsing
        if cycle is not None:
            cycle.complete = True
            self._parsing = None
            self._wake.unpark_all()


def _is_websocket(scope: Scope) -> bool:
    return any(n == b"upgrade" and v.lower() == b"websocket" for n, v in scope["headers"])


def make_date() -> Date:
    return Date()
