"""One connection of the lean HTTP/1.1 client (`_http11.py`): its stream, the
parser of its current response, and whether the server has closed it while
it sat idle in the pool."""

from __future__ import annotations

import select

import httptools
import trio

from ._http11_wire import Parse
from ._transport import TransportCutShort, TransportUnavailable

_READ_SIZE = 65536


class Connection:
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

    async def receive(self) -> int:
        """Feed the next bytes from the socket to the parser: how many, 0 at EOF."""
        try:
            data = await self.stream.receive_some(_READ_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise TransportUnavailable(f"the connection broke ({exc.__cause__ or exc})") from exc
        if not data:
            return 0
        try:
            self.parse.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise TransportCutShort(f"the response is not well-formed HTTP/1.1 ({exc})") from exc
        return len(data)

    def closed_by_peer(self) -> bool:
        """An idle connection with something to read has been closed by the
        server (or broken): an idle HTTP/1.1 server sends nothing."""
        return readable_now(self.socket.fileno())

    async def aclose(self) -> None:
        # Shielded: a cancelled caller must still get its socket closed.
        with trio.CancelScope(shield=True):
            await self.stream.aclose()


def readable_now(fd: int) -> bool:
    """Whether `fd` has something to read (or an EOF) right now, without waiting.

    poll() where the platform has it (POSIX: no limit on the fd's number);
    select() elsewhere (Windows, whose sockets select takes whatever their number).
    """
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)
    return bool(readable)
