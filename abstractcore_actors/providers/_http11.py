"""A lean HTTP/1.1 client for one origin: the `openai-compatible` adapter's transport.

Why not httpx: at hundreds of calls in flight, httpx's request and response
models (URL parsing and merging, header normalisation, auth and hook
plumbing, anyio's stream wrappers) and h11's pure-Python framing cost
~0.4 ms of CPU per call on the one trio thread that runs them all, several
times what the wire needs (see docs/performance.md). This client does only
what the adapter asks: POST a JSON body to a path of one origin and read
the answer whole or as its body arrives. The request head is encoded once
(validated then) and each request adds its path and Content-Length;
responses are parsed by httptools (llhttp, the C parser behind Node.js and
uvicorn: Content-Length, chunked, keep-alive, `Connection: close`, a body
that runs to the close), so the wire behaviour is a well-kept library's;
gzip and deflate bodies are decoded; https goes through `trio.SSLStream`
with httpx's CA bundle. A configured proxy is served by `_http_proxy.py`.

Connections: a stack of idle ones, O(1) per request (the most recently used
first — its socket is the likeliest alive); one found closed by the server
or idle past `keepalive_expiry` is dropped. A response read to its end gives
its connection back; one closed early (a cancel, a race's loser) closes it;
`aclose` closes every connection, idle or in use.

Timeouts: `connect_timeout` bounds connecting (and the TLS handshake);
`read_timeout` bounds each wait for data while sending a request, reading a
head and reading a whole body. `Response.receive_some()` takes no timeout of its
own: its reader (the provider actor) applies its stall limit, at less cost
than a cancel scope per read.
"""

from __future__ import annotations

import math
import select
import ssl
import zlib
from collections import deque
from collections.abc import Mapping

import httptools
import trio

from ._http11_wire import Origin, Parse, decoder, request_head
from ._transport import TransportCutShort, TransportTimeout, TransportUnavailable

_READ_SIZE = 65536


class _Connection:
    """One socket (or TLS stream) and the parser of its current response."""

    __slots__ = ("idle_since", "parse", "socket", "stream")

    def __init__(self, stream: trio.abc.Stream, socket: trio.socket.SocketType) -> None:
        self.stream = stream
        self.socket = socket
        self.idle_since = 0.0
        self.parse = Parse()

    def next_response(self) -> None:
        """Ready for the next response on this (kept-alive) connection."""
        self.parse = Parse()

    async def receive(self) -> bool:
        """Feed the next bytes from the socket to the parser; False at EOF."""
        try:
            data = await self.stream.receive_some(_READ_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise TransportUnavailable(f"the connection broke ({exc.__cause__ or exc})") from exc
        if not data:
            return False
        try:
            self.parse.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise TransportCutShort(f"the response is not well-formed HTTP/1.1 ({exc})") from exc
        return True

    def closed_by_peer(self) -> bool:
        """An idle connection with something to read has been closed by the
        server (or broken): an idle HTTP/1.1 server sends nothing."""
        poller = select.poll()
        poller.register(self.socket.fileno(), select.POLLIN)
        return bool(poller.poll(0))

    async def aclose(self) -> None:
        # Shielded: a cancelled caller must still get its socket closed.
        with trio.CancelScope(shield=True):
            await self.stream.aclose()


class Http11Client:
    """POST JSON bodies to paths under one base URL, over pooled HTTP/1.1 connections.

    `headers` go on every request (the adapter's Accept, Authorization and
    the user's own); `max_keepalive` idle connections are kept. There is no
    cap on connections in use: the provider actor's limiter is that cap.
    """

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        connect_timeout: float | None,
        read_timeout: float | None,
        max_keepalive: int,
        keepalive_expiry: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.origin = Origin(base_url)
        # Validated and encoded once: each request adds only its path and
        # its Content-Length.
        self._head = request_head(self.origin, headers)
        self._connect_timeout = math.inf if connect_timeout is None else connect_timeout
        self._read_timeout = math.inf if read_timeout is None else read_timeout
        self._max_keepalive = max_keepalive
        self._keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._idle: deque[_Connection] = deque()
        self._open: set[_Connection] = set()
        self._closed = False

    def __repr__(self) -> str:  # never the headers: they carry the API key
        return f"<Http11Client {self.origin!r} open={len(self._open)}>"

    @property
    def open_connections(self) -> int:
        """Connections open now, idle or serving a request."""
        return len(self._open)

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    def _ssl(self) -> ssl.SSLContext:
        # Made on the first https connection only: loading the CA bundle
        # costs milliseconds a plain-http (local) upstream never needs.
        if self._ssl_context is None:
            import httpx  # the same trust store (certifi, SSL_CERT_FILE) as httpx

            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    async def _connect(self) -> _Connection:
        origin = self.origin
        try:
            with trio.fail_after(self._connect_timeout):
                tcp = await trio.open_tcp_stream(origin.host, origin.port)
                stream: trio.abc.Stream = tcp
                if origin.scheme == "https":
                    tls = trio.SSLStream(tcp, self._ssl(), server_hostname=origin.host)
                    try:
                        await tls.do_handshake()
                    except BaseException:
                        await trio.aclose_forcefully(tcp)
                        raise
                    stream = tls
        except trio.TooSlowError:
            raise TransportTimeout(
                f"connecting to {origin!r} took over {self._connect_timeout:g}s"
            ) from None
        except (OSError, ssl.SSLError, trio.BrokenResourceError) as exc:
            reason = exc.__cause__ or exc
            raise TransportUnavailable(
                f"cannot connect to {origin!r} ({type(reason).__name__}: {reason})"
            ) from exc
        connection = _Connection(stream, tcp.socket)
        self._open.add(connection)
        return connection

    async def _checkout(self) -> _Connection:
        """An idle connection that still looks alive, or a new one."""
        now = trio.current_time()
        idle = self._idle
        while idle:
            connection = idle.pop()
            if now - connection.idle_since < self._keepalive_expiry and not (
                connection.closed_by_peer()
            ):
                return connection
            await self._discard(connection)
        return await self._connect()

    async def _discard(self, connection: _Connection) -> None:
        self._open.discard(connection)
        await connection.aclose()

    async def _release(self, connection: _Connection, reusable: bool) -> None:
        """A response ended: keep its connection for the next request, or close it."""
        if not self._closed and reusable and len(self._idle) < self._max_keepalive:
            connection.next_response()
            connection.idle_since = trio.current_time()
            self._idle.append(connection)
            # The oldest idle connection sits at the left: closing it once
            # expired keeps sockets from lingering, at O(1) per release.
            oldest = self._idle[0]
            if oldest is not connection and (
                connection.idle_since - oldest.idle_since >= self._keepalive_expiry
            ):
                self._idle.popleft()
                await self._discard(oldest)
            return
        await self._discard(connection)

    async def post(self, path: str, body: bytes, *, whole: bool = False) -> Response:
        """Send `body` (JSON) to `path` under the base URL; the response once
        its head is in, or with `whole=True` once its body is in too (one
        timeout scope for the whole exchange instead of two).

        Read the response to its end (`read`, or `receive_some` until b"")
        or `aclose` it; raises TransportUnavailable, TransportTimeout or
        TransportCutShort. Nothing is re-sent here: whether a failed call is
        tried again is the provider actor's retry policy."""
        if self._closed:
            raise TransportUnavailable("the HTTP client is closed")
        connection = await self._checkout()
        try:
            return await self._exchange(connection, path, body, whole)
        except BaseException:  # a cancel too: a half-used connection is never reused
            await self._discard(connection)
            raise

    async def _exchange(
        self, connection: _Connection, path: str, body: bytes, whole: bool
    ) -> Response:
        target = (self.origin.prefix + path).encode()
        data = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
            target,
            self._head,
            len(body),
            body,
        )
        parse = connection.parse
        response: Response | None = None
        with trio.CancelScope(deadline=trio.current_time() + self._read_timeout) as scope:
            try:
                await connection.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise TransportUnavailable(
                    f"the connection broke ({exc.__cause__ or exc})"
                ) from exc
            while True:
                if not await connection.receive():
                    raise TransportCutShort("the server closed the connection without a response")
                if parse.head_done:
                    break  # (interim 1xx heads are skipped by the parser)
                scope.deadline = trio.current_time() + self._read_timeout
            response = Response(self, connection, parse.status)
            if not whole:
                return response
            response.body = await response.read_within(scope)
            return response
        if response is None:
            raise TransportTimeout(f"no response head within {self._read_timeout:g}s")
        raise TransportTimeout(f"the response body stalled for {self._read_timeout:g}s")

    async def aclose(self) -> None:
        """Close every connection, idle or in use (an in-use response then fails)."""
        self._closed = True
        self._idle.clear()
        connections, self._open = self._open, set()
        for connection in connections:
            await connection.aclose()


class Response:
    """A response whose head has arrived; its body is read with `read` or `receive_some`."""

    __slots__ = (
        "_client",
        "_connection",
        "_corrupt",
        "_decoder",
        "_done",
        "_fed",
        "body",
        "headers",
        "status",
    )

    def __init__(self, client: Http11Client, connection: _Connection, status: int) -> None:
        self.status = status
        self.headers = connection.parse.headers
        self._client = client
        self._connection = connection
        self._done = False
        self._corrupt = False
        self._fed = False
        self._decoder = decoder(self.headers.get("content-encoding", ""))
        self.body: bytes | None = None  # the whole body, when posted with whole=True

    async def receive_some(self) -> bytes:
        """The next bytes of the body (decoded), or b"" at its end, when the
        connection goes back to the pool. No timeout of its own (see above)."""
        connection = self._connection
        parse = connection.parse
        while not self._done:
            if parse.pieces:
                pieces, parse.pieces = parse.pieces, []
                data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
                if self._decoder is not None:
                    data = self._decode(data)
                if data:
                    return data
            elif parse.complete:
                tail = self._decode_end()
                await self._end(reusable=parse.keep_alive)
                return tail  # b"" ends the body; a tail is followed by b""
            elif not await connection.receive():
                if parse.delimited:
                    raise TransportCutShort("the server closed the connection mid-body")
                tail = self._decode_end()  # a body that runs until the close
                await self._end(reusable=False)
                return tail
        return b""

    def _decode(self, data: bytes) -> bytes:
        assert self._decoder is not None
        self._fed = True
        try:
            return self._decoder.decompress(data)
        except zlib.error as exc:
            self._corrupt = True  # a server that sent this is not asked again on this socket
            raise TransportCutShort(f"the compressed body is corrupt ({exc})") from exc

    def _decode_end(self) -> bytes:
        decoder = self._decoder
        if decoder is None:
            return b""
        tail = decoder.flush()
        # zlib does not complain about a stream cut before its end; an empty
        # body (nothing compressed) is no stream at all and is let through.
        if self._fed and not decoder.eof:
            self._corrupt = True
            raise TransportCutShort("the compressed body ends before its compressed stream")
        return tail

    async def read(self) -> bytes:
        """The whole body; each wait for data is bounded by the read timeout."""
        if self.body is not None:
            return self.body
        timeout = self._client._read_timeout
        body = b""
        try:
            with trio.CancelScope(deadline=trio.current_time() + timeout) as scope:
                body = await self.read_within(scope)
        finally:
            await self.aclose()
        if scope.cancelled_caught:
            raise TransportTimeout(f"the response body stalled for {timeout:g}s")
        return body

    async def read_within(self, scope: trio.CancelScope) -> bytes:
        """The rest of the body, moving `scope`'s deadline a read timeout on
        after each piece: the caller's scope bounds each wait for data."""
        timeout = self._client._read_timeout
        pieces = []
        while piece := await self.receive_some():
            pieces.append(piece)
            scope.deadline = trio.current_time() + timeout
        return b"".join(pieces)

    async def _end(self, *, reusable: bool) -> None:
        if not self._done:
            self._done = True
            await self._client._release(self._connection, reusable)

    async def aclose(self) -> None:
        """Give the connection back (body read to its end) or close it (not).

        A reader that stopped at a stream's `[DONE]` usually has the body's
        end in hand already (the parser saw it): then the connection is
        reused instead of closed."""
        parse = self._connection.parse
        await self._end(reusable=parse.complete and parse.keep_alive and not self._corrupt)
