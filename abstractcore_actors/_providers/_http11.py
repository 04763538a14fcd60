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
gzip and deflate bodies are decoded (bounded); https goes through `trio.SSLStream`
with httpx's CA bundle. A configured proxy is served by `_http_proxy.py`.

Connections: a stack of idle ones, O(1) per request (the most recently used
first — its socket is the likeliest alive); one found closed by the server
or idle past `keepalive_expiry` is dropped. A response read to its end gives
its connection back; one closed early (a cancel, a race's loser) closes it;
`aclose` closes every connection, idle or in use.

Timeouts: `connect_timeout` bounds connecting (and the TLS handshake);
`read_timeout` bounds sending the request and receiving the whole response
head, in total; a whole body (`whole=True`, `read`) must then arrive within
`Limits.body_timeout` (default: the read timeout), in total too, so a server
that drips a byte at a time cannot hold a call by resetting a per-read
timeout. `Response.receive_some()` takes no timeout of its own: its reader
(the provider actor) applies its stall limit, at less cost than a cancel
scope per read.

Limits (`_limits.py`): a head over `max_header_bytes` or a whole body over
`max_body_bytes` (decoded) fails with TransportLimit, as does a body that
inflates past `max_decompression_ratio`; bodies are inflated a bounded step
at a time (`_inflate.py`), never whole. A connection whose response broke a
limit is closed, never reused.
"""

from __future__ import annotations

import math
import ssl
from collections import deque
from collections.abc import Mapping

import trio

from ._http11_connection import Connection
from ._http11_response import Response
from ._http11_wire import Origin, request_head
from ._limits import Limits, describe
from ._transport import TransportCutShort, TransportLimit, TransportTimeout, TransportUnavailable


class Http11Client:
    """POST JSON bodies to paths under one base URL, over pooled HTTP/1.1 connections.

    `headers` go on every request (the adapter's Accept, Authorization and
    the user's own); `max_keepalive` idle connections are kept. There is no
    cap on connections in use: the provider actor's limiter is that cap.
    `limits` bound every response (default: `Limits()`).
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
        limits: Limits | None = None,
    ) -> None:
        self.origin = Origin(base_url)
        self.limits = limits or Limits()
        # Validated and encoded once: each request adds only its path and
        # its Content-Length.
        self._head = request_head(self.origin, headers)
        self._connect_timeout = math.inf if connect_timeout is None else connect_timeout
        self._read_timeout = math.inf if read_timeout is None else read_timeout
        self.body_timeout = self.limits.body_seconds(self._read_timeout)
        self._max_keepalive = max_keepalive
        self._keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._idle: deque[Connection] = deque()
        self._open: set[Connection] = set()
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

    async def _connect(self) -> Connection:
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
        connection = Connection(stream, tcp.socket)
        self._open.add(connection)
        return connection

    async def _checkout(self) -> Connection:
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

    async def _discard(self, connection: Connection) -> None:
        self._open.discard(connection)
        await connection.aclose()

    async def _release(self, connection: Connection, reusable: bool) -> None:
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
        its head is in, or with `whole=True` once its body is in too (`body`;
        its connection is kept until `aclose` or `abort`).

        Read the response to its end (`read`, or `receive_some` until b"")
        or `aclose` it; raises TransportUnavailable, TransportTimeout,
        TransportCutShort or TransportLimit. Nothing is re-sent here: whether
        a failed call is tried again is the provider actor's retry policy."""
        if self._closed:
            raise TransportUnavailable("the HTTP client is closed")
        connection = await self._checkout()
        try:
            return await self._exchange(connection, path, body, whole)
        except BaseException:  # a cancel too: a half-used connection is never reused
            await self._discard(connection)
            raise

    async def _exchange(
        self, connection: Connection, path: str, body: bytes, whole: bool
    ) -> Response:
        target = (self.origin.prefix + path).encode()
        data = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
            target,
            self._head,
            len(body),
            body,
        )
        parse = connection.parse
        max_head = self.limits.max_header_bytes
        # One deadline for sending and the whole head: a server dripping its
        # head a byte at a time must not hold the call.
        with trio.move_on_after(self._read_timeout):
            try:
                await connection.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise TransportUnavailable(
                    f"the connection broke ({exc.__cause__ or exc})"
                ) from exc
            received = 0
            while not parse.head_done:  # (interim 1xx heads are skipped by the parser)
                count = await connection.receive()
                if not count:
                    raise TransportCutShort("the server closed the connection without a response")
                received += count
                if received > max_head and not parse.head_done:
                    raise TransportLimit(
                        "max_header_bytes",
                        describe("max_header_bytes", max_head, "the response head is larger"),
                    )
        if not parse.head_done:
            raise TransportTimeout(f"no response head within {self._read_timeout:g}s")
        response = Response(connection, parse.status, self.limits, self.body_timeout, self._release)
        if whole:
            response.body = await response.read_body()
        return response

    async def aclose(self) -> None:
        """Close every connection, idle or in use (an in-use response then fails)."""
        self._closed = True
        self._idle.clear()
        connections, self._open = self._open, set()
        for connection in connections:
            await connection.aclose()
