"""Server-sent events: response bytes -> lines, as the SSE spec splits them.

The spec (https://html.spec.whatwg.org/multipage/server-sent-events.html)
ends a line at CRLF, LF or CR. We split raw bytes ourselves instead of using
httpx's `aiter_lines`: that one decodes to text and passes each piece through
four async generators (`aiter_lines` -> `aiter_text` -> `aiter_bytes` ->
`aiter_raw`), which cost more per streamed chunk than parsing the chunk does.
`json.loads` reads UTF-8 bytes directly, so lines stay bytes.

A line is bounded (`max_bytes`, the model's `max_event_bytes`): an upstream
that never sends a line ending would otherwise be buffered without end.
"""

from __future__ import annotations

import math
from typing import final

from ._limits import describe
from ._transport import TransportLimit


@final
class LineSplitter:
    """Feed it the body's bytes as they come; get back the complete lines.

    A line cut between two reads is kept until its end arrives; so is a
    trailing CR, which may be the first half of a CRLF. A line longer than
    `max_bytes` (complete or not) raises TransportLimit.
    """

    __slots__ = ("_max", "_rest")

    def __init__(self, max_bytes: float = math.inf) -> None:
        self._rest = b""
        self._max = max_bytes

    def feed(self, data: bytes) -> list[bytes]:
        """The lines completed by `data`, without their line endings."""
        if self._rest:
            data = self._rest + data
        if b"\r" in data:
            held = b""
            if data.endswith(b"\r"):  # maybe half of a CRLF: decide with the next read
                data, held = data[:-1], b"\r"
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            lines = data.split(b"\n")
            self._rest = lines.pop() + held
        else:
            lines = data.split(b"\n")
            self._rest = lines.pop()
        # Only text longer than the limit can hold a line that is: one length
        # test per read on the common path.
        if len(data) > self._max and (
            len(self._rest) > self._max or any(len(line) > self._max for line in lines)
        ):
            raise TransportLimit(
                "max_event_bytes",
                describe("max_event_bytes", self._max, "a server-sent event's line is longer"),
            )
        return lines

    def flush(self) -> list[bytes]:
        """At the end of the body: the last line if it had no line ending."""
        rest, self._rest = self._rest, b""
        if rest.endswith(b"\r"):
            rest = rest[:-1]
            return [rest]  # the held CR ended this line (even an empty one)
        return [rest] if rest else []
