"""An httpx transport whose connection pool costs O(1) per request.

httpcore's `AsyncConnectionPool` rescans its whole connection list (and
every queued request) on each request and on each release, and, once more
connections exist than `max_keepalive_connections`, recounts the list for
every connection it visits: O(n²) per request. At 1,000 calls in flight
that is milliseconds of CPU per call, more than the rest of the call path
together (see docs/performance.md). Here each origin keeps a stack of idle
HTTP/1.1 connections: a request pops the most recently used one (its socket
is the likeliest to be alive), or opens a new one; a finished response
pushes its connection back. Nothing is scanned.

Each connection is an `httpcore.AsyncHTTPConnection`, the same object
httpcore's pool manages, so the wire behaviour (HTTP/1.1, keep-alive
expiry, TLS, timeouts from the request's extensions) is httpcore's own.
Cancellation: a request cancelled while it waits closes its connection
(httpcore shields that close); a response closed before its end closes its
connection instead of reusing it; `aclose` closes every connection, idle
or in use, so nothing outlives the client.
"""

from __future__ import annotations

import ssl
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager

import httpcore
import httpx
import trio

# httpcore's errors -> httpx's (the same table httpx's own transport uses).
_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    # Only when `aclose` closed the connection before its request went out:
    # a connection here never serves two requests at once.
    httpcore.ConnectionNotAvailable: httpx.ConnectError,
}

_Key = tuple[bytes, bytes, int]


@contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for kind in type(exc).__mro__:  # the most specific mapping first
            mapped = _ERRORS.get(kind)
            if mapped is not None:
                raise mapped(str(exc)) from exc
        raise


async def _close(connection: httpcore.AsyncHTTPConnection) -> None:
    # Shielded: a cancelled caller must still get its socket closed.
    with trio.CancelScope(shield=True):
        await connection.aclose()


class StackPool(httpx.AsyncBaseTransport):
    """HTTP/1.1 connections kept per origin on a stack of idle ones.

    `max_keepalive`: idle connections kept per origin (a connection coming
    back to a full stack is closed). `keepalive_expiry`: seconds an idle
    connection may wait before it is closed instead of reused. There is no
    cap on connections in use: the provider actor's limiter is that cap.
    """

    def __init__(
        self,
        *,
        max_keepalive: int,
        keepalive_expiry: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max_keepalive = max_keepalive
        self._keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._idle: dict[_Key, deque[httpcore.AsyncHTTPConnection]] = {}
        self._open: set[httpcore.AsyncHTTPConnection] = set()
        self._closed = False

    @property
    def open_connections(self) -> int:
        """Connections open now, idle or serving a request."""
        return len(self._open)

    @property
    def idle_connections(self) -> int:
        return sum(len(stack) for stack in self._idle.values())

    def _ssl(self) -> ssl.SSLContext:
        # Made on the first https request only: loading the CA bundle costs
        # milliseconds that a plain-http (local) upstream never needs.
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    async def _checkout(self, key: _Key, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        stack = self._idle.get(key)
        while stack:
            connection = stack.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection
            # expired, or closed by the server while it sat idle
            self._open.discard(connection)
            await _close(connection)
        connection = httpcore.AsyncHTTPConnection(
            origin=origin,
            ssl_context=self._ssl() if origin.scheme == b"https" else None,
            keepalive_expiry=self._keepalive_expiry,
        )
        self._open.add(connection)
        return connection

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.UnsupportedProtocol("the connection pool is closed")
        url = request.url
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        origin = core_request.url.origin  # with the scheme's default port filled in
        key: _Key = (origin.scheme, origin.host, origin.port)
        connection = await self._checkout(key, origin)
        try:
            with _mapped():
                response = await connection.handle_async_request(core_request)
        except BaseException:
            self._open.discard(connection)
            await _close(connection)
            raise
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(self, key, connection, response.stream),
            extensions=response.extensions,
        )

    async def _release(self, key: _Key, connection: httpcore.AsyncHTTPConnection) -> None:
        """A response is closed: keep its connection for the next request, or close it."""
        stack = self._idle.setdefault(key, deque())
        if not self._closed and connection.is_idle() and len(stack) < self._max_keepalive:
            stack.append(connection)
            # The oldest idle connection sits at the bottom: closing it once
            # expired keeps sockets from lingering, at O(1) per release.
            oldest = stack[0]
            if oldest is not connection and oldest.has_expired():
                stack.popleft()
                self._open.discard(oldest)
                await _close(oldest)
            return
        self._open.discard(connection)
        await _close(connection)

    async def aclose(self) -> None:
        """Close every connection, idle or in use (an in-use response then fails).

        One still connecting has no socket to close yet; it is closed when
        its response ends, since a closed pool keeps nothing."""
        self._closed = True
        self._idle.clear()
        connections, self._open = self._open, set()
        for connection in connections:
            await _close(connection)


class _Body(httpx.AsyncByteStream):
    """A response body that gives its connection back to the pool when closed."""

    def __init__(
        self,
        pool: StackPool,
        key: _Key,
        connection: httpcore.AsyncHTTPConnection,
        stream: AsyncIterable[bytes],
    ) -> None:
        self._pool = pool
        self._key = key
        self._connection = connection
        self._stream = stream
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            with _mapped():
                # httpcore's close: a response read to its end leaves the
                # connection idle; one closed early (a cancel) closes it.
                await self._stream.aclose()  # type: ignore[attr-defined]
        finally:
            await self._pool._release(self._key, self._connection)
