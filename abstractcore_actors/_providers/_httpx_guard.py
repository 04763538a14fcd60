"""The `Limits` for clients built on httpx or httpx2: the openai and anthropic
SDKs, and the openai-compatible client behind a proxy.

The SDKs read and parse answers themselves: a whole body with `aread()`
(however large, decompressed all at once), SSE events buffered until their
blank line (however long), JSON by `json.loads` (however deep). What they
offer to hook into is the HTTP client they are given: `ResponseGuard` is an
httpx response event hook (public API, called once the head has arrived,
before any of the body is read) that checks the head's size and swaps the
response's byte stream for one that

- inflates gzip/deflate itself, a bounded step at a time (`_inflate.py`),
  and takes `Content-Encoding` off the response so httpx does not inflate
  it again, whole;
- counts a whole body against `max_body_bytes` and checks its JSON depth
  when it ends (before the SDK parses it); gives a whole body
  `body_timeout` in total to arrive;
- counts each server-sent event against `max_event_bytes` and checks the
  depth of each finished event (before the SDK's decoder sees its end).

It raises the transport errors of `_transport.py` from inside the SDK; the
adapters find them (raw, or as the `__cause__` of an SDK error) with
`transport_cause` and map them like the openai-compatible adapter does.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

import httpx
import trio

from .._json_depth import deeper_than
from ..errors import ProviderError
from ._adapter import ProviderConfig
from ._inflate import ACCEPT_ENCODING, Inflater
from ._limits import LimitExceeded, Limits, describe
from ._status import transport_error
from ._transport import TransportError, TransportLimit, TransportTimeout

try:
    import httpx2
except ImportError:  # older SDK majors ride on httpx itself
    httpx2 = None  # type: ignore[assignment]

# Where the SDKs' SSE decoders end an event (and so where their buffers empty).
_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_SEPARATORS = (b"\r\n\r\n", b"\n\n", b"\r\r")


def _openers(data: bytes) -> int:
    return data.count(b"[") + data.count(b"{")


def _broken(limit: str, value: int, what: str) -> TransportLimit:
    return TransportLimit(limit, describe(limit, value, what))


class _Events:
    """The server-sent event being received: its size, and each finished
    event's JSON depth. Keeps references to the pieces of the current event
    (the bytes the SDK buffers too), joined only when one may be too deep."""

    __slots__ = ("_limits", "_opens", "_pieces", "_size", "_tail")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._pieces: list[bytes] = []
        self._size = 0
        self._opens = 0
        self._tail = b""  # the current event's last bytes: a boundary may straddle reads

    def feed(self, data: bytes) -> None:
        window = self._tail + data
        cut = max(
            (at + len(sep) for sep in _SEPARATORS if (at := window.rfind(sep)) >= 0), default=-1
        )
        opens = _openers(data)
        if cut < 0:
            self._pieces.append(data)
            self._size += len(data)
            self._opens += opens
            self._tail = window[-3:]
        else:
            split = cut - len(self._tail)  # where the boundary ends in `data` (>= 1)
            done = [*self._pieces, data[:split]]
            if self._size + split > self._limits.max_event_bytes:
                self._check_sizes(b"".join(done))
            if self._opens + opens > self._limits.max_json_depth:
                self._check_depth(b"".join(done))
            rest = data[split:]
            self._pieces, self._size, self._opens = [rest], len(rest), _openers(rest)
            self._tail = rest[-3:]
        if self._size > self._limits.max_event_bytes:
            self._too_big()

    def end(self) -> None:
        """At the body's end: the last event, if it had no blank line after it."""
        if self._opens > self._limits.max_json_depth:
            self._check_depth(b"".join(self._pieces))

    def _check_sizes(self, events: bytes) -> None:
        if any(len(event) > self._limits.max_event_bytes for event in _BOUNDARY.split(events)):
            self._too_big()

    def _too_big(self) -> None:
        raise _broken("max_event_bytes", self._limits.max_event_bytes, "an SSE event is larger")

    def _check_depth(self, events: bytes) -> None:
        # Balanced events return to depth 0 between them, so the text of
        # several is as deep as the deepest.
        limit = self._limits.max_json_depth
        if deeper_than(events, limit):
            raise _broken("max_json_depth", limit, "a server-sent event's JSON nests deeper")


class _Body:
    """One guarded body: bytes from the wire in, checked decoded pieces out.

    A whole JSON body's depth is checked as it arrives, not only at its end:
    a breach found mid-body closes the connection (httpcore reuses one whose
    response was read to its end). Once the body holds more brackets than
    the limit, what has arrived is checked again each time it has doubled
    (the depth of a prefix can only grow), so checking costs O(n) in all."""

    __slots__ = (
        "_events",
        "_inflater",
        "_json",
        "_limits",
        "_next_check",
        "_opens",
        "_pieces",
        "_size",
        "_whole",
    )

    def __init__(
        self, limits: Limits, inflater: Inflater | None, *, whole: bool, events: bool, json: bool
    ) -> None:
        self._limits = limits
        self._inflater = inflater
        self._whole = whole
        self._json = json
        self._events = _Events(limits) if events and not whole else None
        self._pieces: list[bytes] = []
        self._size = 0
        self._opens = 0
        self._next_check = 0  # the size at which the body's depth is checked next

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """The decoded pieces of `raw`, each checked before it is handed on."""
        inflater = self._inflater
        data = raw if inflater is None else inflater.decode(raw)
        while True:
            if data:
                yield self._checked(data)
            if inflater is None or not inflater.pending:
                return
            data = inflater.decode(b"")

    def end(self) -> Iterator[bytes]:
        if self._inflater is not None and (tail := self._inflater.finish()):
            yield self._checked(tail)
        if self._events is not None:
            self._events.end()
        if self._json and self._opens > self._limits.max_json_depth:
            self._check_depth()

    def _checked(self, data: bytes) -> bytes:
        if self._whole:
            self._size += len(data)
            limit = self._limits.max_body_bytes
            if self._size > limit:
                raise _broken("max_body_bytes", limit, "the body is larger (decoded)")
            if self._json:
                self._pieces.append(data)  # the same bytes the SDK holds until it parses them
                self._opens += _openers(data)
                if self._opens > self._limits.max_json_depth and self._size >= self._next_check:
                    self._check_depth()
                    self._next_check = 2 * self._size
        elif self._events is not None:
            self._events.feed(data)
        return data

    def _check_depth(self) -> None:
        limit = self._limits.max_json_depth
        if len(self._pieces) > 1:
            self._pieces = [b"".join(self._pieces)]
        if deeper_than(self._pieces[0], limit):
            raise _broken("max_json_depth", limit, "the answer's JSON nests deeper")


class _GuardedStream:
    """The response's byte stream as httpx reads it: `__aiter__` and `aclose`."""

    def __init__(self, inner: Any, body: _Body, deadline: float, timeout: float) -> None:
        self._inner = inner
        self._body = body
        self._deadline = deadline
        self._timeout = timeout

    @property
    def elapsed(self) -> Any:  # httpx2 reads the response's `elapsed` from its stream
        return getattr(self._inner, "elapsed", None)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        parts = self._inner.__aiter__()
        try:
            while (raw := await self._next(parts)) is not None:
                for piece in self._body.feed(raw):
                    yield piece
            for piece in self._body.end():
                yield piece
        finally:
            if isinstance(parts, AsyncGenerator):
                await parts.aclose()

    async def _next(self, parts: AsyncIterator[bytes]) -> bytes | None:
        if self._deadline == math.inf:  # a stream: the reader applies its stall limit
            return await anext(parts, None)
        with trio.move_on_at(self._deadline):
            return await anext(parts, None)
        raise TransportTimeout(
            f"the whole response body did not arrive within {self._timeout:g}s "
            "(body_timeout, default the read_timeout)"
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _HttpxStream(_GuardedStream, httpx.AsyncByteStream):
    pass


if httpx2 is not None:

    class _Httpx2Stream(_GuardedStream, httpx2.AsyncByteStream):
        pass


class ResponseGuard:
    """An httpx/httpx2 `response` event hook enforcing `limits` on every answer.

    `read_timeout` is the body timeout's default. `events=False` leaves
    server-sent events unchecked (for a client whose reader bounds them
    itself, as the openai-compatible adapter does line by line)."""

    def __init__(self, limits: Limits, read_timeout: float, *, events: bool = True) -> None:
        self.limits = limits
        self.body_timeout = limits.body_seconds(read_timeout)
        self._events = events

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for an httpx(2) client built to use this guard."""
        return {
            "event_hooks": {"response": [self]},
            "headers": {"Accept-Encoding": ACCEPT_ENCODING},
        }

    async def __call__(self, response: Any) -> None:
        limits = self.limits
        headers = response.headers
        size = sum(len(name) + len(value) + 4 for name, value in headers.raw)
        if size > limits.max_header_bytes:
            raise TransportLimit(
                "max_header_bytes",
                describe(
                    "max_header_bytes", limits.max_header_bytes, "the response head is larger"
                ),
            )
        inflater = Inflater.for_encoding(headers.get("content-encoding", ""), limits)
        if inflater is not None:
            del headers["content-encoding"]  # inflated here, bounded, instead of by httpx
        whole = "text/event-stream" not in headers.get("content-type", "")
        # An error body is not depth-checked: the status says what failed,
        # and the SDKs read an error body that is not JSON as text.
        json = whole and response.status_code < 400
        body = _Body(limits, inflater, whole=whole, events=self._events, json=json)
        deadline = trio.current_time() + self.body_timeout if whole else math.inf
        inner = response.stream
        if httpx2 is not None and isinstance(inner, httpx2.AsyncByteStream):
            response.stream = _Httpx2Stream(inner, body, deadline, self.body_timeout)
        else:
            response.stream = _HttpxStream(inner, body, deadline, self.body_timeout)


def transport_cause(exc: BaseException) -> TransportError | None:
    """The guard's error behind `exc`: `exc` itself, or in its causes (the SDKs
    wrap what a body read raises in their own connection errors)."""
    seen: BaseException | None = exc
    for _ in range(8):  # a chain is short; a cycle must not loop
        if seen is None:
            return None
        if isinstance(seen, TransportError):
            return seen
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return None


#: What the SDK adapters catch besides the SDKs' own errors: the guard's, and
#: the RecursionError of an SDK's own `json.loads` should the guard's depth
#: check ever be passed by (a malformed event that hides a bracket in a string).
GUARD_ERRORS: tuple[type[Exception], ...] = (TransportError, RecursionError)


def guard_failure(exc: BaseException, config: ProviderConfig) -> ProviderError | None:
    """Our error for a failure the guard caused (or a RecursionError), or None."""
    cause = transport_cause(exc)
    if cause is not None:
        return transport_error(cause, config, "")
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RecursionError):
            limit = config.limits.max_json_depth
            return LimitExceeded(
                describe("max_json_depth", limit, "the answer's JSON nests too deep to parse"),
                provider=config.provider,
                model=config.model,
                limit="max_json_depth",
            )
        seen = seen.__cause__
    return None


def sdk_call_seconds(config: ProviderConfig, *, whole: bool) -> float:
    """How long an SDK call may take to return: to connect and get the whole
    head (`connect_timeout` + `read_timeout`), and for a whole answer its
    body too (+ `body_timeout`). The SDKs' HTTP library applies the read
    timeout to each read, so without this a head dripped a byte at a time
    would hold the call; the guard bounds the body on its own as well."""
    seconds = config.connect_timeout + config.read_timeout
    return seconds + config.limits.body_seconds(config.read_timeout) if whole else seconds
