"""Decompressing a response body without letting it inflate past its limits.

A gzip body of 1 MB can inflate to 1 GiB (deflate reaches ~1,000:1), and
`zlib.decompressobj().decompress(data)` hands back everything `data`
inflates to at once: one 64 KiB read could become 64 MB in one call, and
a whole bomb took the process past 2 GB. Here each call inflates at most
`STEP` bytes (zlib's `max_length`), keeping the compressed input it did not
reach (`unconsumed_tail`) for the next call, so the caller can count the
decoded bytes against its limits step by step and stop at the first one
passed, having held at most one step.
"""

from __future__ import annotations

import zlib

from ._limits import RATIO_FLOOR, Limits, describe
from ._transport import TransportCutShort, TransportLimit

#: The most decoded bytes one call returns.
STEP = 256 * 1024

# What we ask servers for. brotli and zstd need packages a plain install
# lacks, and their decoders could not be bounded the same way.
ACCEPT_ENCODING = "gzip, deflate"


def _zlib(encoding: str) -> zlib._Decompress | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise TransportCutShort(f"the server sent a body encoded with {encoding!r}, not asked for")


class Inflater:
    """One body's decoder: `decode` each piece as it arrives, then `decode(b"")`
    while `pending`, then `finish`. Raises TransportLimit past the ratio
    limit, TransportCutShort for a corrupt or cut compressed stream."""

    __slots__ = ("_fed", "_max_ratio", "_tail", "_zlib", "compressed", "decoded")

    def __init__(self, encoding: str, limits: Limits) -> None:
        self._zlib = _zlib(encoding)
        self._max_ratio = limits.max_decompression_ratio
        self._tail = b""
        self._fed = False
        self.compressed = 0
        self.decoded = 0

    @classmethod
    def for_encoding(cls, encoding: str, limits: Limits) -> Inflater | None:
        """An Inflater for a `Content-Encoding`, or None for an identity body."""
        inflater = cls(encoding, limits)
        return inflater if inflater._zlib is not None else None

    @property
    def pending(self) -> bool:
        """Compressed input is left that the last call did not reach."""
        return bool(self._tail)

    def decode(self, data: bytes) -> bytes:
        """At most STEP decoded bytes of `data` (after what is pending)."""
        decompressor = self._zlib
        assert decompressor is not None
        self._fed = self._fed or bool(data)
        self.compressed += len(data)
        source = self._tail + data if self._tail else data
        try:
            out = decompressor.decompress(source, STEP)
        except zlib.error as exc:
            raise TransportCutShort(f"the compressed body is corrupt ({exc})") from exc
        self._tail = decompressor.unconsumed_tail
        self.decoded += len(out)
        # Judged against the compressed bytes zlib has read, not those handed
        # in: one read of a bomb holds enough for gigabytes.
        consumed = self.compressed - len(self._tail)
        if self.decoded > RATIO_FLOOR and self.decoded > self._max_ratio * consumed:
            raise TransportLimit(
                "max_decompression_ratio",
                describe(
                    "max_decompression_ratio",
                    self._max_ratio,
                    f"the body inflates {self.decoded // max(consumed, 1)}:1 "
                    f"({consumed} compressed bytes gave {self.decoded} so far)",
                ),
            )
        return out

    def finish(self) -> bytes:
        """The last decoded bytes, at the body's end (TransportCutShort if the
        compressed stream is not complete)."""
        decompressor = self._zlib
        assert decompressor is not None and not self._tail
        # With nothing pending, what zlib still holds is under one match (258 bytes).
        tail = decompressor.flush()
        # zlib does not complain about a stream cut before its end; an empty
        # body (nothing compressed) is no stream at all and is let through.
        if self._fed and not decompressor.eof:
            raise TransportCutShort("the compressed body ends before its compressed stream")
        self.decoded += len(tail)
        return tail
