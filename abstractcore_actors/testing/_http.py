"""A small HTTP/1.1 server on trio + h11, the base of the fake wire servers.

Real sockets on 127.0.0.1, one task per connection, keep-alive, and a count
of open connections that drops the moment a client goes away — even while
the server is waiting between two chunks — so tests can assert that a
cancelled call closed its socket.
"""

from __future__ import annotations

import json
import math
import socket
import struct
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import h11
import trio

from ._script import Fault, RecordedRequest, Reply, Script, Step


class ClientGone(Exception):
    """The client closed (or reset) the connection."""


class Exchange:
    """One request/response on one connection: the helpers a protocol uses to answer."""

    def __init__(self, stream: trio.SocketStream, conn: h11.Connection) -> None:
        self.stream = stream
        self.conn = conn
        self.closed = False

    async def _send(self, event: Any) -> None:
        data = self.conn.send(event)
        if data:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise ClientGone from exc

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, noticing at once if the client goes away meanwhile."""
        if seconds <= 0:
            await trio.lowlevel.checkpoint()
            return
        with trio.move_on_after(seconds):
            while True:
                try:
                    data = await self.stream.receive_some(65536)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    raise ClientGone from exc
                if not data:
                    raise ClientGone
                self.conn.receive_data(data)  # a pipelined request: keep it for later

    async def json(
        self, status: int, body: object, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        raw = json.dumps(body).encode()
        await self.raw(status, raw, headers)

    async def raw(self, status: int, raw: bytes, headers: Iterable[tuple[str, str]] = ()) -> None:
        await self._send(
            h11.Response(
                status_code=status,
                headers=[
                    ("content-type", "application/json"),
                    ("content-length", str(len(raw))),
                    *headers,
                ],
            )
        )
        await self._send(h11.Data(data=raw))
        await self._send(h11.EndOfMessage())

    async def start_sse(self) -> None:
        await self._send(
            h11.Response(
                status_code=200,
                headers=[("content-type", "text/event-stream"), ("cache-control", "no-cache")],
            )
        )

    async def sse(self, data: str, event: str | None = None) -> None:
        line = f"event: {event}\ndata: {data}\n\n" if event else f"data: {data}\n\n"
        await self._send(h11.Data(data=line.encode()))

    async def end(self) -> None:
        await self._send(h11.EndOfMessage())

    async def truncated_body(self, raw: bytes) -> None:
        """Promise `raw`, send half of it, then close the connection."""
        await self._send(
            h11.Response(
                status_code=200,
                headers=[("content-type", "application/json"), ("content-length", str(len(raw)))],
            )
        )
        await self._send(h11.Data(data=raw[: len(raw) // 2]))
        await self.close()

    async def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0)."""
        self.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await self.close()

    async def close(self) -> None:
        self.closed = True
        await self.stream.aclose()


class FakeServer:
    """Shared machinery of the fake servers: the script, the record, the counts."""

    #: the path the chat endpoint answers on
    chat_path = ""

    def __init__(self, script: Script, default: Step | None, api_key: str | None) -> None:
        self._queue: deque[Step] = deque()
        self._responder: Callable[[RecordedRequest], Step] | None = None
        if callable(script):
            self._responder = script
        else:
            self._queue.extend(script)
        self.default = default
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self.open_connections = 0
        # requests being answered right now (an idle keep-alive connection
        # in a client's pool is open, but has no active request)
        self.active_requests = 0
        self.total_connections = 0
        self.closed_connections = 0
        self.port = 0
        self.host = "127.0.0.1"
        self._changed = trio.Event()

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    def push(self, *steps: Step) -> None:
        """Append replies or faults to the script (consumed in order per chat request)."""
        self._queue.extend(steps)

    def next_step(self, request: RecordedRequest) -> Step:
        if self._responder is not None:
            return self._responder(request)
        if self._queue:
            return self._queue.popleft()
        return self.default or self.echo(request)

    def echo(self, request: RecordedRequest) -> Reply:
        from ._script import last_user_text

        return Reply(text="echo: " + last_user_text(request))

    async def wait_for_connections(self, count: int = 0) -> None:
        """Wait until exactly `count` connections are open (event-driven, no polling)."""
        while self.open_connections != count:
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # -- serving -----------------------------------------------------------

    async def serve(self, task_status: trio.TaskStatus[None]) -> None:
        listeners = await trio.open_tcp_listeners(0, host=self.host)
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._connection, listeners)

    async def _connection(self, stream: trio.SocketStream) -> None:
        self.open_connections += 1
        self.total_connections += 1
        self._notify()
        conn = h11.Connection(h11.SERVER)
        exchange = Exchange(stream, conn)
        try:
            while not exchange.closed:
                got = await self._read_request(stream, conn)
                if got is None:
                    break
                self.active_requests += 1
                try:
                    await self._dispatch(exchange, got)
                finally:
                    self.active_requests -= 1
                if exchange.closed or conn.our_state is h11.MUST_CLOSE:
                    break
                conn.start_next_cycle()
        except (ClientGone, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except h11.ProtocolError:
            pass
        finally:
            if not exchange.closed:
                with trio.CancelScope(shield=True):
                    await stream.aclose()
            self.open_connections -= 1
            self.closed_connections += 1
            self._notify()

    async def _read_request(
        self, stream: trio.SocketStream, conn: h11.Connection
    ) -> RecordedRequest | None:
        request: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await stream.receive_some(65536)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return None
                conn.receive_data(data)
                if not data and request is None:
                    return None
                continue
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                return None
        assert request is not None
        headers = {k.decode().lower(): v.decode() for k, v in request.headers}
        try:
            parsed: object | None = json.loads(body) if body else None
        except ValueError:
            parsed = None
        recorded = RecordedRequest(
            method=request.method.decode(),
            path=request.target.decode(),
            headers=headers,
            body=bytes(body),
            json=parsed,
        )
        self.requests.append(recorded)
        return recorded

    async def _dispatch(self, exchange: Exchange, request: RecordedRequest) -> None:
        raise NotImplementedError

    async def play_stream(
        self,
        exchange: Exchange,
        step: Reply | Fault,
        pieces: list[Callable[[], Any]],
        *,
        finish: Callable[[], Any],
        error_event: Callable[[], Any],
    ) -> None:
        """Send the streamed pieces of `step`, acting out its fault on the way.

        `pieces` are coroutine factories, one per counted chunk; `finish`
        sends the closing events; `error_event` sends a mid-stream error.
        """
        fault = step if isinstance(step, Fault) else None
        reply = fault.scripted_reply() if fault else step
        assert isinstance(reply, Reply)
        cut = fault.after_chunks if fault else math.inf
        await exchange.pause(fault.ttft if fault else reply.ttft)
        await exchange.start_sse()
        for n, piece in enumerate(pieces):
            if (
                n == cut
                and fault is not None
                and await self._fault_mid_stream(exchange, fault, error_event)
            ):
                return
            if n > 0:
                await exchange.pause(reply.token_latency)
            await piece()
        if (
            fault is not None
            and cut >= len(pieces)
            and await self._fault_mid_stream(exchange, fault, error_event)
        ):
            return
        await finish()

    async def _fault_mid_stream(
        self, exchange: Exchange, fault: Fault, error_event: Callable[[], Any]
    ) -> bool:
        """Act out `fault`; True when the stream is over."""
        match fault.kind:
            case "reset":
                await exchange.reset()
                return True
            case "stall":
                await exchange.pause(fault.seconds)
                return False
            case "malformed":
                await exchange.sse("{not json")
                await exchange.end()
                return True
            case "truncate":
                await exchange.end()
                return True
            case "sse_error":
                await error_event()
                await exchange.end()
                return True
        return False
