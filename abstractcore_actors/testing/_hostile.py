"""Answers a faulty or hostile upstream sends: a gzip bomb, a huge body, huge
headers, a line that never ends, JSON nested 100,000 deep, a body dripped a
byte at a time (the `Fault`s `gzip_bomb`, `huge_body`, `huge_headers`,
`long_line`, `nested` and `drip`).

Every large one is generated as it is sent, in pieces of `PIECE` bytes, and
a gzip bomb is compressed as it is sent: the fake server never holds more
than a piece, so a test can measure the client's memory, not the server's.
A client that stops reading (its limit passed) and closes the connection
ends the answer with ClientGone at the next write.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping

import h11

from ._exchange import Exchange, Headers
from ._script import Fault

PIECE = 64 * 1024
_MIB = 1024 * 1024

#: kinds that replace the whole response (the others fire mid-stream, after
#: `after_chunks` chunks, like `malformed`)
WHOLE_KINDS = frozenset({"gzip_bomb", "huge_headers", "drip"})
KINDS = frozenset({*WHOLE_KINDS, "huge_body", "long_line", "nested"})


def padding(size: int, byte: bytes = b" ") -> Iterator[bytes]:
    """`size` bytes of `byte`, a piece at a time (one piece object, reused)."""
    piece = byte * PIECE
    while size > 0:
        yield piece if size >= PIECE else piece[:size]
        size -= PIECE


def gzip_bomb(size: int, prefix: bytes = b"", suffix: bytes = b"") -> Iterator[bytes]:
    """A gzip stream of `prefix`, `size` spaces and `suffix`, made as it is sent.

    Each MiB of spaces is a deflate block of its own (a full flush resets the
    compressor, so every such block is the same ~1 KB): compressed once,
    sent `size` / 1 MiB times. Compressing 1 GiB anew would cost seconds."""

    def block(data: bytes) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)

    # gzip header: deflate, no name, no mtime, best compression, unknown OS
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    run = b" " * _MIB
    packed = block(run)
    whole, rest = divmod(size, _MIB)
    crc = zlib.crc32(prefix)
    if prefix:
        yield block(prefix)
    for _ in range(whole):
        crc = zlib.crc32(run, crc)
        yield packed
    for part in (run[:rest], suffix):
        if part:
            crc = zlib.crc32(part, crc)
            yield block(part)
    # an empty last block, then the CRC-32 and length of what it inflates to
    total = len(prefix) + size + len(suffix)
    yield b"\x03\x00" + struct.pack("<II", crc, total & 0xFFFFFFFF)


def nested(depth: int) -> bytes:
    """A JSON array nested `depth` deep: `[[[...]]]`."""
    return b"[" * depth + b"]" * depth


def _body(fault: Fault, raw: bytes) -> Iterator[bytes]:
    """A whole answer padded with `fault.size` bytes of whitespace before its
    JSON (still valid JSON, so only a size limit can refuse it)."""
    yield from padding(fault.size)
    yield raw


async def _send_all(exchange: Exchange, parts: Iterator[bytes]) -> None:
    for part in parts:
        await exchange.send(part)


async def _drip(exchange: Exchange, data: bytes, seconds: float) -> None:
    for i in range(len(data)):
        await exchange.send(data[i : i + 1])
        await exchange.pause(seconds)


async def _huge_head(
    exchange: Exchange, size: int, content_type: str, headers: Headers, body: bytes
) -> None:
    """A response head with `size` bytes of extra headers (written raw, a piece
    at a time: h11 would build the whole head first), then `body`, then close."""
    head = [b"HTTP/1.1 200 OK", f"content-type: {content_type}".encode()]
    head += [f"{name}: {value}".encode() for name, value in headers]
    await exchange.send_raw(b"\r\n".join(head) + b"\r\n")
    line = b"x-padding: " + b"a" * 1000 + b"\r\n"
    for _ in range(max(size // len(line), 1)):
        await exchange.send_raw(line)
    end = b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
    await exchange.send_raw(end + body)
    await exchange.close()


async def complete(
    exchange: Exchange,
    fault: Fault,
    raw: bytes,
    headers: Headers,
    error_body: Callable[[int, str], Mapping[str, object]],
) -> None:
    """Act out a hostile `fault` as the answer to a non-streaming request
    (`raw`: the answer it stands in for)."""
    headers = list(headers)
    match fault.kind:
        case "gzip_bomb":
            head = [("content-type", "application/json"), ("content-encoding", "gzip"), *headers]
            await exchange.start(200, head)
            await _send_all(exchange, gzip_bomb(fault.size, suffix=raw))
            await exchange.end()
        case "huge_body" | "long_line":
            length = str(fault.size + len(raw))
            await exchange.start(
                200, [("content-type", "application/json"), ("content-length", length), *headers]
            )
            await _send_all(exchange, _body(fault, raw))
            await exchange.end()
        case "huge_headers":
            await _huge_head(exchange, fault.size, "application/json", headers, raw)
        case "nested":
            deep = nested(fault.depth)
            if fault.status_code >= 400:
                # the protocol's error body, with the nested value beside its `error`
                shape = json.dumps(error_body(fault.status_code, "nested")).encode()
                deep = shape[:-1] + b', "detail": ' + deep + b"}"
            await exchange.respond(fault.status_code, deep, headers)
        case "drip":
            size = str(len(raw))
            await exchange.start(
                200, [("content-type", "application/json"), ("content-length", size), *headers]
            )
            await _drip(exchange, raw, fault.seconds)
            await exchange.end()


async def whole_stream(exchange: Exchange, fault: Fault, sse: bytes, headers: Headers) -> None:
    """Act out a fault of WHOLE_KINDS as the answer to a streaming request
    (`sse`: every byte of the stream it stands in for)."""
    headers = list(headers)
    match fault.kind:
        case "gzip_bomb":
            # An SSE comment line (": ...") that inflates without end: a
            # reader must bound the line, or the inflating, to survive it.
            await exchange.start_stream([("content-encoding", "gzip"), *headers])
            await _send_all(exchange, gzip_bomb(fault.size, prefix=b": "))
            await exchange.end()
        case "huge_headers":
            await _huge_head(exchange, fault.size, "text/event-stream", headers, sse)
        case "drip":
            await exchange.start_stream(headers)
            await _drip(exchange, sse, fault.seconds)
            await exchange.end()


async def mid_stream(exchange: Exchange, fault: Fault, event_prefix: bytes) -> None:
    """Act out a hostile `fault` in the middle of a stream (then end it cleanly).
    `event_prefix` names the event (`event: ...\\n`) where the protocol needs it."""
    match fault.kind:
        case "nested":
            await exchange.send(event_prefix + b"data: " + nested(fault.depth) + b"\n\n")
        case "long_line":
            # never a line ending: only a bound on the line stops a reader buffering it
            await exchange.send(event_prefix + b"data: ")
            await _send_all(exchange, padding(fault.size, b"a"))
        case "huge_body":
            # one event of `size` bytes: an event both protocols ignore, padded with whitespace
            await exchange.send(event_prefix + b"data: ")
            await _send_all(exchange, padding(fault.size))
            await exchange.send(b'{"type": "ping", "choices": []}\n\n')
    if exchange.conn.our_state is h11.SEND_BODY:
        await exchange.end()
