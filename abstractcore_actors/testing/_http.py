"""The HTTP/1.1 core of the fake wire servers: h11 over trio sockets.

Real sockets on 127.0.0.1, one task per connection, keep-alive, and counts of
open connections that drop the moment a client goes away — even while the
server waits between two chunks — so a test can assert that a cancelled call
closed its socket. `FakeServer` also plays a script step (a `Reply` or a
`Fault`) as a JSON response or as an SSE stream; the protocol subclasses only
render the vendor's bodies and events.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping

import attrs
import h11
import trio

from . import _hostile
from ._exchange import ClientGone, Exchange
from ._script import Fault, RecordedRequest, Reply, Script, Step, echo


@attrs.frozen(kw_only=True)
class StreamPlan:
    """A reply rendered as SSE bytes by a protocol: `head` (before any chunk),
    one entry of `chunks` per counted chunk, `tail` (the normal end), and the
    frames the `sse_error` and `malformed` faults send."""

    head: bytes
    chunks: list[bytes]
    tail: bytes
    error: bytes
    malformed: bytes
    #: the line naming the events hostile faults send (`event: ...\n`), if the protocol needs it
    event_prefix: bytes = b""


@attrs.define(eq=False)
class FakeServer:
    """What the fake servers share: the script, the record of requests, the
    connection counts, the accept loop, and playing a step on the wire."""

    script: Script = ()
    default: Step | None = None
    api_key: str | None = None
    host: str = "127.0.0.1"
    #: every request received, in order of arrival
    requests: list[RecordedRequest] = attrs.field(factory=list, init=False)
    port: int = attrs.field(default=0, init=False)
    #: TCP connections open right now (an idle keep-alive one in a client's pool counts)
    open_connections: int = attrs.field(default=0, init=False)
    total_connections: int = attrs.field(default=0, init=False)
    closed_connections: int = attrs.field(default=0, init=False)
    #: requests being answered right now
    active_requests: int = attrs.field(default=0, init=False)
    _queue: deque[Step] = attrs.field(factory=deque, init=False)
    _changed: trio.Event = attrs.field(factory=trio.Event, init=False)

    def __attrs_post_init__(self) -> None:
        if not callable(self.script):
            self._queue.extend(self.script)

    @property
    def origin(self) -> str:
        """`http://<host>:<port>`, an IPv6 host in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    def push(self, *items: Step) -> None:
        """Append replies or faults to the script, consumed in order by chat requests
        (before `default`). With a function script they are never used."""
        self._queue.extend(items)

    def next_step(self, request: RecordedRequest) -> Step:
        if callable(self.script):
            return self.script(request)
        if self._queue:
            return self._queue.popleft()
        return self.default if self.default is not None else echo(request)

    async def wait_for_connections(self, count: int = 0) -> None:
        """Return once exactly `count` connections are open. Event-driven: it wakes
        on each open or close, never polls. Put it under `trio.fail_after`."""
        while self.open_connections != count:
            await self._changed.wait()

    async def wait_for_requests(self, count: int = 0) -> None:
        """Return once exactly `count` requests are being answered (kept-alive
        connections may stay open). Event-driven; put it under `trio.fail_after`."""
        while self.active_requests != count:
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # -- serving -----------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen on `host`, a port the OS picks; report started; serve until cancelled."""
        listeners = await trio.open_tcp_listeners(0, host=self.host)
        # A name such as "localhost" can resolve to several addresses, each
        # bound to its own free port: keep one, so that `port` is the port.
        for extra in listeners[1:]:
            await extra.aclose()
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._connection, listeners[:1])

    async def _connection(self, stream: trio.SocketStream) -> None:
        self.open_connections += 1
        self.total_connections += 1
        self._notify()
        exchange = Exchange(stream)
        try:
            await self._serve_requests(exchange)
        except ClientGone:
            pass
        finally:
            if not exchange.closed:
                with trio.CancelScope(shield=True):
                    await stream.aclose()
            self.open_connections -= 1
            self.closed_connections += 1
            self._notify()

    async def _serve_requests(self, exchange: Exchange) -> None:
        conn = exchange.conn
        while True:
            try:
                request = await exchange.read_request()
            except h11.RemoteProtocolError:
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await exchange.respond(400, b'{"error": "bad HTTP request"}')
                return
            if request is None:
                return
            self.requests.append(request)
            self.active_requests += 1
            self._notify()
            try:
                await self.handle(exchange, request)
            finally:
                self.active_requests -= 1
                self._notify()
            # keep-alive: another request may follow, unless either side asked to close
            if exchange.closed or conn.our_state is not h11.DONE:
                return
            if conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()

    # -- what the protocols provide ------------------------------------------

    #: the status of an `sse_error` fault on a non-streaming request
    overloaded_status = 500
    #: the response header naming the request (the SDKs expose it as `_request_id`)
    request_id_header = "x-request-id"

    async def handle(self, exchange: Exchange, request: RecordedRequest) -> None:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Mapping[str, object]:
        raise NotImplementedError

    # -- playing a step --------------------------------------------------------

    def headers(self) -> list[tuple[str, str]]:
        return [(self.request_id_header, f"req_fake_{len(self.requests)}")]

    async def send_error(
        self, exchange: Exchange, status: int, message: str, retry_after: float | None = None
    ) -> None:
        """An HTTP error with the provider's error body (and Retry-After in seconds)."""
        headers = self.headers()
        if retry_after is not None:
            headers.append(("retry-after", f"{retry_after:g}"))
        body = json.dumps(self.error_body(status, message)).encode()
        await exchange.respond(status, body, headers)

    async def play_complete(
        self, exchange: Exchange, step: Step, body: Mapping[str, object]
    ) -> None:
        """Answer a non-streaming request with `body`, acting out `step` if it is a fault."""
        fault = step if isinstance(step, Fault) else None
        await exchange.pause(fault.wait_first() if fault else _reply(step).ttft)
        raw = json.dumps(body).encode()
        match fault.kind if fault else None:
            case "status":
                assert fault is not None
                await self.send_error(exchange, fault.status_code, fault.message, fault.retry_after)
            case "reset":
                await exchange.reset()
            case "malformed":
                await exchange.respond(200, b"{not json", self.headers())
            case "truncate":
                await exchange.truncated(raw, self.headers())
            case "sse_error":
                assert fault is not None
                await self.send_error(exchange, self.overloaded_status, fault.message)
            case "stall" | None:
                if fault is not None:
                    await exchange.pause(fault.seconds)
                await exchange.respond(200, raw, self.headers())
            case _:
                assert fault is not None
                await _hostile.complete(exchange, fault, raw, self.headers(), self.error_body)

    async def play_stream(self, exchange: Exchange, step: Step, plan: StreamPlan) -> None:
        """Answer a streaming request: the response head at once, then after the
        ttft `plan.head` and the chunks paced by `token_latency`, then
        `plan.tail`; a fault fires after its `after_chunks` chunks instead."""
        fault = step if isinstance(step, Fault) else None
        if fault is not None and fault.kind == "status":
            await exchange.pause(fault.wait_first())
            await self.send_error(exchange, fault.status_code, fault.message, fault.retry_after)
            return
        if fault is not None and fault.kind == "nested" and fault.status_code >= 400:
            await _hostile.complete(exchange, fault, b"", self.headers(), self.error_body)
            return
        if fault is not None and fault.kind in _hostile.WHOLE_KINDS:
            sse = plan.head + b"".join(plan.chunks) + plan.tail
            await _hostile.whole_stream(exchange, fault, sse, self.headers())
            return
        reply = fault.scripted_reply() if fault else _reply(step)
        await exchange.start_stream(self.headers())
        await exchange.pause(fault.wait_first() if fault else reply.ttft)
        await exchange.send(plan.head)
        # A model's pace: chunk n is due `n * token_latency` after the first,
        # however long a send took. (Pausing after each send instead lets any
        # delay in sending — a busy core, a slow reader — push every later
        # chunk back, so a proxy in front would seem to slow the model down.)
        first = trio.current_time()
        for n, chunk in enumerate(plan.chunks):
            if fault is not None and n == fault.after_chunks:
                if await _act(exchange, fault, plan):
                    return
                # it stalled: the model resumes its pace from here
                first = trio.current_time() - max(n - 1, 0) * reply.token_latency
            if n > 0:
                await exchange.pause_until(first + n * reply.token_latency)
            await exchange.send(chunk)
        if (
            fault is not None
            and fault.after_chunks >= len(plan.chunks)
            and await _act(exchange, fault, plan)
        ):
            return
        await exchange.send(plan.tail)
        await exchange.end()


def _reply(step: Step) -> Reply:
    return step.scripted_reply() if isinstance(step, Fault) else step


async def _act(exchange: Exchange, fault: Fault, plan: StreamPlan) -> bool:
    """Act out `fault` in the middle of a stream; True when the stream is over."""
    match fault.kind:
        case "reset":
            await exchange.reset()
            return True
        case "stall":
            await exchange.pause(fault.seconds)
            return False
        case "malformed":
            await exchange.send(plan.malformed)
        case "sse_error":
            await exchange.send(plan.error)
        case "truncate" | "status":
            pass
        case _:
            await _hostile.mid_stream(exchange, fault, plan.event_prefix)
            return True
    # the HTTP message ends cleanly: only the protocol's own end marker is missing
    await exchange.end()
    return True
