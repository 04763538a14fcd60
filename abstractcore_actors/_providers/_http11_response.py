"""The body of one response of the lean HTTP/1.1 client (`_http11.py`), read
under the client's limits: decoded a bounded step at a time, at most
`max_body_bytes` when read whole, and within the body timeout in total.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from ._http11_connection import Connection
from ._inflate import Inflater
from ._limits import Limits, describe
from ._transport import TransportCutShort, TransportLimit, TransportTimeout


class Response:
    """A response whose head has arrived; its body is read with `read` or
    `receive_some`, or was read whole by `post(whole=True)` (`body`)."""

    __slots__ = (
        "_body_timeout",
        "_connection",
        "_corrupt",
        "_done",
        "_ending",
        "_inflater",
        "_limits",
        "_release",
        "body",
        "headers",
        "status",
    )

    def __init__(
        self,
        connection: Connection,
        status: int,
        limits: Limits,
        body_timeout: float,
        release: Callable[[Connection, bool], Awaitable[None]],
    ) -> None:
        self.status = status
        self.headers = connection.parse.headers
        self._limits = limits
        self._body_timeout = body_timeout
        self._release = release  # gives the connection back to its pool, or closes it
        self._connection = connection
        self._done = False  # the connection went back to the pool, or was closed
        # Once the body's end was read: whether its connection may serve another request.
        self._ending: bool | None = None
        # Set when the body broke the framing, its encoding or a limit: then
        # the connection is closed, never given to another request.
        self._corrupt = False
        self.body: bytes | None = None  # the whole body, when posted with whole=True
        self._inflater = Inflater.for_encoding(self.headers.get("content-encoding", ""), limits)

    async def receive_some(self) -> bytes:
        """The next bytes of the body (decoded, at most `_inflate.STEP` of them),
        or b"" at its end, when the connection goes back to the pool. No timeout
        of its own (see above)."""
        data = await self._step()
        if self._ending is not None:
            await self._end(reusable=self._ending)
        return data

    async def _step(self) -> bytes:
        """The next decoded bytes; at the body's end, sets `_ending` (and
        leaves releasing the connection to the caller)."""
        try:
            return await self._next()
        except (TransportCutShort, TransportLimit):
            self._corrupt = True  # a server that sent this is not asked again on this socket
            raise

    async def _next(self) -> bytes:
        connection = self._connection
        parse = connection.parse
        inflater = self._inflater
        while self._ending is None and not self._done:
            if inflater is not None and inflater.pending:
                data = inflater.decode(b"")
                if data:
                    return data
            elif parse.pieces:
                pieces, parse.pieces = parse.pieces, []
                data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
                if inflater is not None:
                    data = inflater.decode(data)
                if data:
                    return data
            elif parse.complete:
                tail = inflater.finish() if inflater is not None else b""
                self._ending = parse.keep_alive
                return tail  # b"" ends the body; a tail is followed by b""
            elif not await connection.receive():
                if parse.delimited:
                    raise TransportCutShort("the server closed the connection mid-body")
                # a body that runs until the close
                tail = inflater.finish() if inflater is not None else b""
                self._ending = False
                return tail
        return b""

    async def read(self) -> bytes:
        """The whole body, then closed: at most `max_body_bytes` decoded (else
        TransportLimit), all of it within the body timeout of the head (else
        TransportTimeout)."""
        if self.body is not None:
            return self.body
        try:
            return await self.read_body()
        finally:
            await self.aclose()

    async def read_body(self) -> bytes:
        """The whole body, under the limits of `read`, keeping the connection
        until `aclose` or `abort`: the caller may still find the body unusable
        (JSON nested too deep) and then close rather than reuse it."""
        limit = self._limits.max_body_bytes
        timeout = self._body_timeout
        pieces: list[bytes] = []
        size = 0
        try:
            length = self.headers.get("content-length", "")
            if self._inflater is None and length.isdigit() and int(length) > limit:
                raise self._too_big(limit, f"the body is {int(length)} bytes (Content-Length)")
            # One deadline for the whole body (see the module docstring).
            with trio.move_on_after(timeout):
                while self._ending is None and not self._done:
                    piece = await self._step()
                    size += len(piece)
                    if size > limit:
                        raise self._too_big(limit, "the body is larger (decoded)")
                    pieces.append(piece)
                return b"".join(pieces)
            raise TransportTimeout(
                f"the whole response body did not arrive within {timeout:g}s "
                "(body_timeout, default the read_timeout)"
            )
        except BaseException:
            await self.abort()
            raise

    def _too_big(self, limit: int, what: str) -> TransportLimit:
        self._corrupt = True
        return TransportLimit("max_body_bytes", describe("max_body_bytes", limit, what))

    async def _end(self, *, reusable: bool) -> None:
        if not self._done:
            self._done = True
            await self._release(self._connection, reusable and not self._corrupt)

    async def aclose(self) -> None:
        """Give the connection back (body read to its end) or close it (not).

        A reader that stopped at a stream's `[DONE]` usually has the body's
        end in hand already (the parser saw it): then the connection is
        reused instead of closed."""
        if self._ending is not None:
            await self._end(reusable=self._ending)
            return
        parse = self._connection.parse
        await self._end(reusable=parse.complete and parse.keep_alive)

    async def abort(self) -> None:
        """Close the connection, whatever was read: the answer broke a limit
        (or could not be used), and its server is not asked again on it."""
        self._corrupt = True
        await self._end(reusable=False)
